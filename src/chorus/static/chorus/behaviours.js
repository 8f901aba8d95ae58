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
  // The main navigation: one group menu open at a time on a desktop (closed by a click elsewhere
  // or Escape); on a phone the "Menu" button shows the whole navigation, every group open.
  var phone = window.matchMedia("(max-width: 640px)");
  function navGroups() {
    return document.querySelectorAll(".mainnav .nav-group > details");
  }
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-nav-toggle]");
    if (toggle) {
      var bar = toggle.closest("[data-topbar]");
      var open = !bar.classList.contains("nav-open");
      bar.classList.toggle("nav-open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      navGroups().forEach(function (group) { group.open = open; });
      return;
    }
    if (phone.matches) return;
    navGroups().forEach(function (group) {
      if (group.open && !group.contains(event.target)) group.open = false;
    });
  });
  document.addEventListener("toggle", function (event) {
    var group = event.target;
    if (phone.matches || !group.open || !group.matches || !group.matches(".mainnav .nav-group > details")) return;
    navGroups().forEach(function (other) { if (other !== group) other.open = false; });
  }, true);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || phone.matches) return;
    navGroups().forEach(function (group) {
      if (!group.open) return;
      group.open = false;
      if (group.contains(document.activeElement)) group.querySelector("summary").focus();
    });
  });
})();
