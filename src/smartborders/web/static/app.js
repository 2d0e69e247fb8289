// smartborders consoles: the CSRF token on every htmx request, a few keyboard helpers. No inline
// scripts anywhere (the pages' Content-Security-Policy forbids them).
(function () {
  "use strict";
  function token() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  document.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["X-CSRF-Token"] = token();
  });
  // A select marked data-submit-on-change submits its form (the language switch).
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("[data-submit-on-change]")) { e.target.form.submit(); }
  });
  // Keyboard: an element with data-shortcut="F2" is clicked (buttons) or focused (fields) on that key.
  document.addEventListener("keydown", function (e) {
    var el = document.querySelector('[data-shortcut="' + e.key + '"]');
    if (!el) { return; }
    e.preventDefault();
    if (el.tagName === "BUTTON" || el.tagName === "A") { el.click(); } else { el.focus(); }
  });
  // After htmx swaps in a result, move focus to it so screen readers and the keyboard follow.
  document.addEventListener("htmx:afterSwap", function (e) {
    var t = e.detail.target;
    if (!t || !t.querySelector) { return; }  // a history restore swaps with no target
    var f = t.querySelector("[data-focus]") || t;
    if (f && f.focus) { if (!f.hasAttribute("tabindex")) { f.setAttribute("tabindex", "-1"); } f.focus(); }
  });
})();
