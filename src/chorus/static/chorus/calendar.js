// The calendar page: FullCalendar (global build from npm, no bundler) fed by the events endpoint.
// FullCalendar runs in its floating "UTC" mode: the server sends and receives wall times of the
// workspace's zone, so everyone sees the workspace's clock and the server applies the DST rules.
(function () {
  "use strict";
  const el = document.getElementById("calendar");
  if (!el || !window.FullCalendar) return;
  const config = JSON.parse(document.getElementById("calendar-config").textContent);
  const status = document.getElementById("calendar-status");
  const filters = document.getElementById("calendar-filters");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const views = ["dayGridMonth", "timeGridWeek", "listWeek", "listMonth"];

  function say(text, kind) {
    status.textContent = text;
    status.className = "calendar-status" + (kind ? " calendar-status-" + kind : "");
  }

  function filterParams() {
    const params = {};
    for (const [key, value] of new FormData(filters)) {
      if (value) params[key] = value;
    }
    return params;
  }

  function wall(iso) {
    return iso.replace("T", " ").slice(0, 16);
  }

  const calendar = new FullCalendar.Calendar(el, {
    timeZone: "UTC",
    locale: config.locale,
    now: config.now,
    initialView: views.includes(config.initialView) ? config.initialView : "dayGridMonth",
    initialDate: config.initialDate || undefined,
    headerToolbar: { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek,listWeek" },
    nowIndicator: true,
    dayMaxEvents: true,
    editable: config.canMove,
    eventDurationEditable: false,
    defaultTimedEventDuration: "00:30",
    lazyFetching: true,
    events: { url: config.events, extraParams: filterParams },
    eventDataTransform: function (event) {
      event.url = config.target.replace("/targets/0/", "/targets/" + event.id + "/");
      event.classNames = ["status-" + event.status];
      return event;
    },
    // FullCalendar labels each month cell by its day number only, while the cell also holds the
    // day's posts (axe: label-content-name-mismatch): the cell is named by its content instead;
    // the day number keeps its own label ("1 December 2026").
    dayCellDidMount: function (info) {
      info.el.removeAttribute("aria-labelledby");
    },
    // FullCalendar's "+2 more" is an <a> without href that opens a popover and says so with
    // aria-expanded, which only a button may carry (axe: aria-allowed-attr): it is a button.
    moreLinkDidMount: function (info) {
      info.el.setAttribute("role", "button");
    },
    eventDidMount: function (info) {
      info.el.dataset.target = info.event.id;
      info.el.dataset.status = info.event.extendedProps.status;
    },
    eventDrop: async function (info) {
      const url = config.move.replace("/targets/0/", "/targets/" + info.event.id + "/");
      let data;
      try {
        const response = await fetch(url, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrf },
          body: new URLSearchParams({ start: info.event.startStr }),
        });
        data = await response.json();
      } catch (error) {
        info.revert();
        say(status.dataset.failed, "error");
        return;
      }
      if (!data.ok) {
        info.revert();
        say(status.dataset.refused + " " + data.error, "error");
        return;
      }
      info.event.setStart(data.start); // the time actually used (a DST gap moves it forward)
      say([status.dataset.moved + " " + wall(data.start) + ".", data.note, ...data.warnings].filter(Boolean).join(" "), data.note || data.warnings.length ? "warning" : "ok");
    },
  });
  calendar.render();
  // The toolbar's arrows are icon spans with role="img" and no name inside buttons that have
  // one (their title, e.g. "Previous month"): decorative, so hidden from assistive technology.
  el.querySelectorAll(".fc-toolbar .fc-icon").forEach(function (icon) {
    icon.removeAttribute("role");
    icon.setAttribute("aria-hidden", "true");
  });
  filters.addEventListener("change", function () {
    calendar.refetchEvents();
  });
  window.chorusCalendar = calendar; // for the browser tests and the console
})();
