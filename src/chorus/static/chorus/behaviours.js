// Small page behaviours as data attributes, so no template needs an inline event handler
// (the Content-Security-Policy forbids them). Delegated: works for htmx-loaded fragments too.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target.closest && event.target.closest("[data-autosubmit]");
    if (field && field.form) field.form.submit();
    var all = event.target.closest && event.target.closest("[data-select-all]");
    if (all && all.form) {
      all.form.querySelectorAll('input[type=checkbox][name="' + all.dataset.selectAll + '"]').forEach(function (box) {
        box.checked = all.checked;
      });
    }
  });
  document.addEventListener("focusin", function (event) {
    var field = event.target.closest && event.target.closest("[data-select-on-focus]");
    if (field) field.select();
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches("[data-no-submit]")) {
      event.preventDefault();
    } else if (form.matches("form[data-confirm]") && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-confirm], a[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    var item = event.target.closest && event.target.closest("[data-pick-item]");
    if (item) {
      item.dispatchEvent(
        new CustomEvent("chorus:media-picked", { bubbles: true, detail: JSON.parse(item.dataset.item) })
      );
    }
  });
})();
