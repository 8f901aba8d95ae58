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
  // The view a person last picked with the toolbar is remembered in this browser; an address
  // that names a view (?view=) wins over it. Without either, a small screen opens the list (a
  // month grid of 390 px cannot show a post) and a larger one the month.
  const VIEW_KEY = "chorus.calendar.view";
  const small = window.matchMedia("(max-width: 600px)").matches;

  function rememberedView() {
    try {
      return window.localStorage.getItem(VIEW_KEY);
    } catch (error) {
      return null; // storage refused (private mode, policy): no memory, the default applies
    }
  }

  function firstView() {
    if (views.includes(config.initialView)) return config.initialView;
    const remembered = rememberedView();
    if (views.includes(remembered)) return remembered;
    return small ? "listWeek" : "dayGridMonth";
  }

  function node(tag, className, text) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    if (text) made.textContent = text;
    return made;
  }

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
    initialView: firstView(),
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
    noEventsContent: el.dataset.empty,
    eventDidMount: function (info) {
      const props = info.event.extendedProps;
      info.el.dataset.target = info.event.id;
      info.el.dataset.status = props.status;
      // In a list the row has room for what a person needs on a phone: the channel as a chip,
      // the first words as the link to the post, and its status in words.
      const cell = info.view.type.startsWith("list") && info.el.querySelector(".fc-list-event-title");
      if (!cell) return;
      const link = cell.querySelector("a");
      if (link && props.label) link.textContent = props.label;
      const chips = node("span", "chips calendar-chips");
      const channel = node("span", "chip calendar-channel");
      channel.append(node("span", "net net-" + props.kind, (props.kind || "").slice(0, 2).toUpperCase()), " " + (props.channelName || ""));
      channel.firstChild.setAttribute("aria-hidden", "true");
      chips.append(channel, node("span", "chip status-" + props.status, config.statusLabels[props.status] || props.status));
      cell.prepend(chips);
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
  el.addEventListener("click", function (event) {
    if (!event.target.closest(".fc-dayGridMonth-button, .fc-timeGridWeek-button, .fc-listWeek-button")) return;
    try {
      window.localStorage.setItem(VIEW_KEY, calendar.view.type);
    } catch (error) {
      // storage refused: the choice holds for this page only
    }
  });
  filters.addEventListener("change", function () {
    calendar.refetchEvents();
  });
  window.chorusCalendar = calendar; // for the browser tests and the console
})();
