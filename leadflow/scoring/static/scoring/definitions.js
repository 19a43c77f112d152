// The definition editor: a problem's "Line N, column M" puts the cursor there, and the caret's
// line and column are shown, so a problem reported at a line is found at once.
(() => {
  const editor = () => document.getElementById("document");

  const lineStart = (text, line) => {
    let at = 0;
    for (let n = 1; n < line; n++) {
      const next = text.indexOf("\n", at);
      if (next === -1) return text.length;
      at = next + 1;
    }
    return at;
  };

  const showCaret = () => {
    const area = editor();
    const label = document.getElementById("caret");
    if (!area || !label) return;
    const before = area.value.slice(0, area.selectionStart);
    const line = before.split("\n").length;
    const column = before.length - before.lastIndexOf("\n");
    label.textContent = `Line ${line}, column ${column}`;
  };

  document.addEventListener("click", (event) => {
    const button = event.target.closest(".goto-line");
    const area = editor();
    if (!button || !area) return;
    const line = Number(button.dataset.line);
    const start = lineStart(area.value, line) + Math.max(Number(button.dataset.column) - 1, 0);
    const end = area.value.indexOf("\n", start);
    area.focus();
    area.setSelectionRange(start, end === -1 ? area.value.length : end);
    // Scroll the textarea so the line is in view (about one line height per line).
    const height = parseFloat(getComputedStyle(area).lineHeight) || 18;
    area.scrollTop = Math.max(0, (line - 4) * height);
    showCaret();
  });
  document.addEventListener("keyup", (event) => { if (event.target.id === "document") showCaret(); });
  document.addEventListener("click", (event) => { if (event.target.id === "document") showCaret(); });
})();
