// Media library upload: several files at once, drag and drop, one progress bar per file.
// Each file is its own request, so a refused file never blocks the others. No bundler.
(function () {
  "use strict";
  const form = document.querySelector("form.media-drop");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const results = document.getElementById("media-results");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let pending = 0;

  function row(file) {
    const li = document.createElement("li");
    li.className = "media-result";
    const name = document.createElement("span");
    name.className = "media-result-name";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    const status = document.createElement("span");
    status.className = "media-result-status";
    li.append(name, bar, status);
    results.prepend(li);
    return { li, bar, status };
  }

  function send(file) {
    const ui = row(file);
    const data = new FormData();
    data.append("files", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) ui.bar.value = Math.round((event.loaded / event.total) * 100);
    });
    pending += 1;
    xhr.addEventListener("loadend", () => {
      let result = null;
      try {
        result = JSON.parse(xhr.responseText).results[0];
      } catch (_err) {
        result = { ok: false, error: xhr.statusText || "Upload failed" };
      }
      ui.bar.value = 100;
      if (result.ok) {
        ui.li.classList.add("ok");
        const link = document.createElement("a");
        link.href = result.detail_url;
        link.textContent = result.message;
        ui.status.append(link);
      } else {
        ui.li.classList.add("bad");
        ui.status.textContent = result.error;
      }
      pending -= 1;
      if (pending === 0 && window.htmx) {
        // Refresh the grid once every file is done.
        window.htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#media-grid" });
      }
    });
    xhr.send(data);
  }

  function sendAll(files) {
    Array.from(files).forEach(send);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendAll(input.files);
    input.value = "";
  });
  input.addEventListener("change", () => {
    sendAll(input.files);
    input.value = "";
  });
  ["dragenter", "dragover"].forEach((type) =>
    form.addEventListener(type, (event) => {
      event.preventDefault();
      form.classList.add("dragging");
    }),
  );
  ["dragleave", "drop"].forEach((type) =>
    form.addEventListener(type, () => form.classList.remove("dragging")),
  );
  form.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) sendAll(event.dataTransfer.files);
  });
})();
