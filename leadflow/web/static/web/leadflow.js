// When htmx gets an answer it cannot show (a 404, a 500, no network), say so instead of
// leaving the button looking as if nothing happened.
document.addEventListener("DOMContentLoaded", () => {
  const show = (text) => {
    const box = document.getElementById("messages");
    if (!box) return;
    const alert = document.createElement("div");
    alert.className = "alert alert-danger";
    alert.setAttribute("role", "alert");
    alert.textContent = text;
    box.replaceChildren(alert);
    window.scrollTo({ top: 0 });
  };
  document.body.addEventListener("htmx:responseError", (event) => {
    const status = event.detail.xhr.status;
    show(status === 404
      ? "This lead is no longer available to you. Reload the page to see your leads."
      : `leadflow could not do that (error ${status}). Reload the page and try again; if it happens again, tell your administrator.`);
  });
  document.body.addEventListener("htmx:sendError", () => {
    show("leadflow cannot be reached. Check your connection, then try again.");
  });
});
