// The traveller console: what plain HTML cannot do. Loaded after app.js (both deferred).
(function () {
  "use strict";
  // Controls that only work with JavaScript (the "Add a stay" button) are hidden without it.
  function reveal(root) {
    root.querySelectorAll("[data-js-only][hidden]").forEach(function (el) { el.hidden = false; });
  }
  // A form marked data-once sends once: its submit buttons are disabled once it is on its way (the
  // server is idempotent anyway: the ETIAS form carries its client id).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-once]")) { return; }
    if (form.dataset.sent === "1") { e.preventDefault(); return; }
    form.dataset.sent = "1";
    setTimeout(function () {
      form.querySelectorAll('button[type="submit"]').forEach(function (b) { b.disabled = true; });
    }, 0);
  });
  // Back to a page from the history: the form may be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.dataset.sent = "";
      form.querySelectorAll('button[type="submit"]').forEach(function (b) { b.disabled = false; });
    });
  });
  // A page that opens with errors or a result puts the focus there.
  function focusFirst() {
    var el = document.querySelector("[data-autofocus]");
    if (el) { el.focus(); }
  }
  // A new stay row: focus its entry date.
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "stay-rows") {
      var rows = e.detail.target.querySelectorAll(".stay-row");
      var input = rows.length ? rows[rows.length - 1].querySelector("input") : null;
      if (input) { input.focus(); }
    }
    reveal(document);
  });
  function start() { reveal(document); focusFirst(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
