// The border console's keyboard and capture helpers (no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  // A complete MRZ: two lines of 36 or 44 characters (TD2, TD3, visas) or three of 30 (TD1), or the
  // same as one line from a scanner that sends no line breaks.
  function complete(text) {
    var lines = text.split(/\r?\n/).map(function (l) { return l.replace(/[ \t]/g, ""); })
      .filter(function (l) { return l.length > 0; });
    if (lines.length === 1) { return [72, 88, 90].indexOf(lines[0].length) >= 0; }
    if (lines.length === 2) { return lines[0].length >= 36 && lines[1].length >= 36; }
    return lines.length === 3 && lines.every(function (l) { return l.length >= 30; });
  }
  // Enter in the MRZ field: a new line while lines are missing (a scanner types Enter after each),
  // the check once the MRZ is complete; Ctrl+Enter runs the check at any time.
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key !== "Enter" || !t || t.id !== "mrz" || e.shiftKey) { return; }
    if (e.ctrlKey || e.metaKey || complete(t.value)) {
      e.preventDefault();
      if (t.form.requestSubmit) { t.form.requestSubmit(); } else { t.form.submit(); }
    }
  });
  // F2 selects what the field holds, so the next scan replaces it.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "F2") { return; }
    var m = document.getElementById("mrz");
    if (m) { m.focus(); m.select(); }
  });
  // F9 opens the refusal and goes to its first reason; F4 records the refusal once its reasons are in
  // view (while they are folded away, F4 opens them first). Caught before app.js's shortcuts.
  window.addEventListener("keydown", function (e) {
    if (e.key !== "F9" && e.key !== "F4") { return; }
    var d = document.getElementById("refusal");
    if (!d || (e.key === "F4" && d.open)) { return; }
    e.preventDefault();
    e.stopPropagation();
    d.open = true;
    var first = d.querySelector('input[name="reason"]');
    if (first) { first.focus(); }
  }, true);
  // A preview of the face to be checked.
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!t || t.id !== "face") { return; }
    var img = document.getElementById("face-preview");
    if (!img) { return; }
    if (img.dataset.url) { URL.revokeObjectURL(img.dataset.url); }
    if (t.files && t.files[0]) {
      img.dataset.url = URL.createObjectURL(t.files[0]);
      img.src = img.dataset.url;
      img.hidden = false;
    } else {
      img.hidden = true;
    }
  });
})();
