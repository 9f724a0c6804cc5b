// A form that came back with errors: focus its error summary (templates/partials/error_summary.html)
// so that screen readers read it first and the keyboard starts from it, and let the summary's links
// focus their field, which following an in-page link alone does not do.
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (!summary) {
    return;
  }
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    var target = link && document.getElementById(link.getAttribute("href").slice(1));
    // A link may name a question's fieldset: its first control takes the focus.
    var field = target && (target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea"));
    if (field) {
      field.focus();
      // Where nothing took the focus, the link still scrolls to its target as usual.
      if (document.activeElement === field) {
        event.preventDefault();
      }
    }
  });
})();
