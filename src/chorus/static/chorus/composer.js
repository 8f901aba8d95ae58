// Composer: channel tabs, schedule choices, link detection, media rows. The live checks and
// link previews are htmx requests declared in the template; this only shows and hides things.
(function () {
  "use strict";

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function selectTab(id) {
    $$('[role="tab"]').forEach(function (tab) {
      var on = tab.dataset.channel === id;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
    });
    $$('[role="tabpanel"]').forEach(function (panel) {
      var tab = document.getElementById("tab-" + panel.id.replace("panel-", ""));
      panel.hidden = panel.dataset.channel !== id || (tab && tab.hidden);
    });
  }

  function visibleTabs() { return $$('[role="tab"]').filter(function (tab) { return !tab.hidden; }); }

  function syncChannels() {
    var boxes = $$('#channel-choice input[name="channels"]');
    if (boxes.length) {
      boxes.forEach(function (box) {
        var tab = document.getElementById("tab-c" + box.value);
        if (tab) { tab.hidden = !box.checked; }
        var queued = $('[data-queue-channel="' + box.value + '"]');
        if (queued) { queued.hidden = !box.checked; }
      });
    }
    var current = $('[role="tab"][aria-selected="true"]:not([hidden])');
    var tabs = visibleTabs();
    selectTab(current ? current.dataset.channel : (tabs[0] ? tabs[0].dataset.channel : ""));
  }

  function syncWhen() {
    var checked = $('input[name="when"]:checked');
    var when = checked ? checked.value : "";
    $$("[data-when-show]").forEach(function (el) { el.hidden = el.dataset.whenShow !== when; });
    var freq = $('select[name="recur_freq"]');
    $$("[data-freq-show]").forEach(function (el) { el.hidden = !freq || el.dataset.freqShow !== freq.value; });
  }

  // The main button says what will happen ("Schedule for Wed 16 Dec, 10:00 (Paris)"): its labels
  // and the day and month names come translated in data-* attributes, as the server writes them.
  function timeLabel(value, button) {
    var m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})/.exec(value || "");
    if (!m) { return ""; }
    var days = (button.dataset.days || "").split(","), months = (button.dataset.months || "").split(",");
    // The wall time as typed (the workspace's zone): read in UTC so the browser's zone does not move it.
    var weekday = (new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).getUTCDay() + 6) % 7;  // Monday first
    return (days[weekday] || "") + " " + (+m[3]) + " " + (months[+m[2] - 1] || m[2]) + ", " + m[4] + ":" + m[5];
  }

  function syncButton() {
    var button = $("#composer-save");
    if (!button) { return; }
    var checked = $('input[name="when"]:checked');
    var mode = checked ? checked.value : "draft";
    var label;
    if (mode === "at") {
      var field = $('input[name="local_time"]');
      var shown = timeLabel(field ? field.value : "", button);
      label = shown ? (button.dataset.labelAt || "").replace("%(time)s", shown) : button.dataset.labelAtEmpty;
    } else {
      label = button.getAttribute("data-label-" + mode);
    }
    if (label) { button.textContent = label; }
  }

  function syncPlaceholders() {
    var main = $("#id_text");
    if (!main) { return; }
    $$("textarea[data-own-text]").forEach(function (area) { area.placeholder = main.value || area.dataset.placeholder || ""; });
  }

  // A URL typed or pasted into the main text becomes the post's link (and its preview card).
  function detectLink() {
    var main = $("#id_text"), link = $("#id_link");
    if (!main || !link || link.value) { return; }
    var found = main.value.match(/https?:\/\/[^\s<>"']+/);
    if (found) {
      link.value = found[0];
      link.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  function addPickedMedia(detail, source) {
    // The media library's picker dispatches `chorus:media-picked` with as_post_media(asset):
    // {media_id, path, alt, ...}; the server looks the asset id up in this workspace again.
    var list = $("#media-list");
    if (!list || !detail || !detail.media_id) { return; }
    var item = document.createElement("li");
    item.className = "media-item";
    var id = document.createElement("input");
    id.type = "hidden"; id.name = "media-asset"; id.value = detail.media_id;
    var name = document.createElement("span");
    var shown = source && source.querySelector ? source.querySelector(".media-name") : null;
    name.className = "media-name";
    name.textContent = (shown && shown.textContent) || (detail.path || "").split("/").pop() || ("#" + detail.media_id);
    if (source && source.dataset && source.dataset.thumb) {
      var thumb = document.createElement("img");
      thumb.src = source.dataset.thumb; thumb.alt = ""; thumb.width = 48; thumb.height = 48;
      item.appendChild(thumb);
    }
    var label = document.createElement("label");
    label.textContent = list.dataset.altLabel || "Alt text";
    var alt = document.createElement("input");
    alt.type = "text"; alt.name = "media-asset-alt"; alt.value = detail.alt || "";
    label.appendChild(alt);
    var remove = document.createElement("button");
    remove.type = "button"; remove.className = "link"; remove.dataset.removeMedia = "";
    remove.textContent = "×";
    remove.setAttribute("aria-label", list.dataset.removeLabel || "Remove");
    item.append(id, name, label, remove);
    list.appendChild(item);
    alt.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // A snippet goes where the cursor was in the last text field written in (the main text by
  // default), then the live checks run as if it had been typed.
  var lastText = null;
  function insertSnippet(text) {
    var area = lastText && document.body.contains(lastText) ? lastText : $("#id_text");
    if (!area) { return; }
    var start = area.selectionStart == null ? area.value.length : area.selectionStart;
    var end = area.selectionEnd == null ? start : area.selectionEnd;
    var before = area.value.slice(0, start), after = area.value.slice(end);
    var glue = before && !/\s$/.test(before) ? " " : "";
    area.value = before + glue + text + after;
    var caret = (before + glue + text).length;
    area.focus();
    area.setSelectionRange(caret, caret);
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // Files uploaded from the composer (chosen or dropped) go to the media library, then into
  // this post like a file picked from the library. One request per file: a refused file never
  // blocks the others, and its reason is shown.
  function uploadFiles(files) {
    var drop = $("#composer-drop"), status = $("#composer-upload-status");
    var csrf = $('#composer input[name="csrfmiddlewaretoken"]');
    if (!drop || !csrf) { return; }
    Array.prototype.forEach.call(files, function (file) {
      var line = document.createElement("li");
      line.textContent = file.name + " …";
      status.appendChild(line);
      var data = new FormData();
      data.append("files", file);
      fetch(drop.dataset.uploadUrl, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf.value, "Accept": "application/json" }
      }).then(function (response) { return response.json(); }).then(function (body) {
        var result = body.results && body.results[0];
        if (!result || !result.ok) {
          line.className = "bad";
          line.textContent = file.name + ": " + ((result && result.error) || status.dataset.failedLabel);
          return;
        }
        line.className = "ok";
        line.textContent = file.name + ": " + result.message;
        var source = document.createElement("span");
        source.dataset.thumb = result.thumb_url;
        addPickedMedia({ media_id: result.id, path: file.name, alt: "" }, source);
      }).catch(function () {
        line.className = "bad";
        line.textContent = file.name + ": " + status.dataset.failedLabel;
      });
    });
  }

  function init() {
    var form = $("#composer");
    if (!form) { return; }
    form.classList.add("js");
    $$('[role="tab"]').forEach(function (tab) {
      tab.addEventListener("click", function () { selectTab(tab.dataset.channel); });
      tab.addEventListener("keydown", function (event) {
        var tabs = visibleTabs(), index = tabs.indexOf(tab);
        if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
          var next = tabs[(index + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
          selectTab(next.dataset.channel);
          next.focus();
          event.preventDefault();
        }
      });
    });
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target.name === "channels") { syncChannels(); }
      if (target.name === "when" || target.name === "recur_freq") { syncWhen(); }
      if (target.name === "when" || target.name === "local_time") { syncButton(); }
    });
    form.addEventListener("input", function (event) {
      if (event.target.id === "id_text") { syncPlaceholders(); detectLink(); }
      if (event.target.name === "local_time") { syncButton(); }
    });
    form.addEventListener("focusin", function (event) {
      if (event.target.tagName === "TEXTAREA") { lastText = event.target; }
    });
    form.addEventListener("click", function (event) {
      var snippet = event.target.closest("[data-snippet]");
      if (snippet) { insertSnippet(snippet.dataset.snippet); return; }
      if (event.target.matches("[data-remove-media]")) {
        var item = event.target.closest("li");
        var list = item.parentNode;
        item.remove();
        list.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
    var upload = $("#composer-upload"), drop = $("#composer-drop");
    if (upload) {
      upload.addEventListener("change", function (event) {
        event.stopPropagation();  // not a change of the post: the live check waits for the file
        uploadFiles(upload.files);
        upload.value = "";
      });
    }
    if (drop) {
      ["dragenter", "dragover"].forEach(function (name) {
        drop.addEventListener(name, function (event) { event.preventDefault(); drop.classList.add("dragging"); });
      });
      ["dragleave", "drop"].forEach(function (name) {
        drop.addEventListener(name, function () { drop.classList.remove("dragging"); });
      });
      drop.addEventListener("drop", function (event) {
        event.preventDefault();
        if (event.dataTransfer && event.dataTransfer.files.length) { uploadFiles(event.dataTransfer.files); }
      });
    }
    document.addEventListener("chorus:media-picked", function (event) { addPickedMedia(event.detail, event.target); });
    syncChannels();
    syncWhen();
    syncButton();
    syncPlaceholders();
  }

  // Enter in the template's name saves the template, not the post (the form's first button).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.matches || !event.target.matches("#template-name")) return;
    event.preventDefault();
    document.getElementById("save-template-button").click();
  });

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
