// Live countdowns to hand-off deadlines. Each [data-seconds-left] element counts down from the
// seconds the server computed when it rendered it, measured on this page's monotonic clock: a
// wrong clock on the reader's computer does not move a deadline. Rows htmx swaps in are picked
// up on the next tick. Once a deadline passes, the countdown turns red and says "Overdue by".
(() => {
  const pad = (n) => String(n).padStart(2, "0");

  // The same words as presenters.countdown_parts, which renders the first value.
  const span = (seconds) => {
    let rest = Math.abs(seconds);
    const days = Math.floor(rest / 86400);
    rest -= days * 86400;
    const hours = Math.floor(rest / 3600);
    rest -= hours * 3600;
    const minutes = Math.floor(rest / 60);
    const time = `${pad(hours)}:${pad(minutes)}:${pad(rest - minutes * 60)}`;
    return days ? `${days} d ${time}` : time;
  };
  const set = (el, text) => {
    if (el && el.textContent !== text) el.textContent = text;
  };

  const tick = () => {
    const now = performance.now();
    for (const el of document.querySelectorAll("[data-seconds-left]")) {
      if (!el.dataset.seenAt) el.dataset.seenAt = String(now);
      const elapsed = (now - Number(el.dataset.seenAt)) / 1000;
      const left = Math.ceil(Number(el.dataset.secondsLeft) - elapsed);
      set(el.querySelector(".countdown-word"), left > 0 ? "Due in" : "Overdue by");
      set(el.querySelector(".countdown-time"), span(left));
      if (left <= 0 && !el.classList.contains("text-danger")) {
        el.classList.remove("text-warning-emphasis");
        el.classList.add("text-danger");
        const cell = el.closest("[data-status]");
        if (cell) cell.dataset.status = "overdue";
      }
    }
  };

  document.addEventListener("DOMContentLoaded", () => {
    tick();
    setInterval(tick, 1000);
  });
  document.addEventListener("htmx:afterSettle", tick);
})();
