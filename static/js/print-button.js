// The print page's "Print" button: it needs a script, so it stays hidden without one (the
// browser's own Print command works either way).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
