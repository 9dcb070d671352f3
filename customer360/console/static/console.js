// Small progressive enhancements; the console works without JavaScript.
(function () {
  "use strict";
  // "/" focuses the search box (unless typing in a field), as in many search tools.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);
    if (event.key === "/" && !typing) {
      var box = document.getElementById("topq") || document.querySelector("input[name=q]");
      if (box) { event.preventDefault(); box.focus(); box.select(); }
    }
  });
  // "Not the same person": ask once more before recording a decision.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.classList && form.classList.contains("not-same-form") && form.dataset.confirm) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    }
  });
  // Result rows: a click anywhere on the row opens the customer.
  document.querySelectorAll("tr.hit").forEach(function (row) {
    row.addEventListener("click", function (event) {
      if (event.target.closest("a")) { return; }
      var link = row.querySelector("a.hit-link");
      if (link) { window.location.href = link.href; }
    });
  });
})();
