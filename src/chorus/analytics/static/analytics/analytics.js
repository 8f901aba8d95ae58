// Draws the analytics charts from the JSON the page embeds (no bundler, Chart.js UMD global).
(function () {
  "use strict";
  var node = document.getElementById("chart-data");
  if (!node || typeof Chart === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  var labels = JSON.parse(document.getElementById("chart-labels").textContent);
  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) { new Chart(canvas, config); }
  }
  var options = { responsive: true, maintainAspectRatio: false, interaction: { mode: "index", intersect: false } };
  if (data.days && data.engagement) {
    var sets = [{ label: labels.engagement, data: data.engagement, backgroundColor: "#3b4fd8" }];
    if (data.previous_engagement) {
      sets.push({ label: labels.previous, data: data.previous_engagement, backgroundColor: "#b8c0f0" });
    }
    draw("chart-engagement", { type: "bar", data: { labels: data.days, datasets: sets }, options: options });
    draw("chart-impressions", { type: "line", data: { labels: data.days, datasets: [{ label: labels.impressions, data: data.impressions, borderColor: "#1a7f37", spanGaps: true }] }, options: options });
  }
  if (data.followers && Object.keys(data.followers).length) {
    var palette = ["#3b4fd8", "#1a7f37", "#b42318", "#8250df", "#bf8700", "#0969da", "#57606a"];
    var i = 0;
    var series = Object.keys(data.followers).map(function (name) {
      var color = palette[i++ % palette.length];
      return { label: name, data: data.followers[name], borderColor: color, backgroundColor: color, spanGaps: true, pointRadius: 0 };
    });
    draw("chart-followers", { type: "line", data: { labels: data.days, datasets: series }, options: options });
  }
  if (data.times && data.series) {
    var colors = ["#3b4fd8", "#1a7f37", "#b42318", "#8250df", "#bf8700", "#0969da"];
    var k = 0;
    var lines = Object.keys(data.series).map(function (name) {
      var color = colors[k++ % colors.length];
      return { label: name, data: data.series[name], borderColor: color, backgroundColor: color, spanGaps: true };
    });
    draw("chart-post", { type: "line", data: { labels: data.times.map(function (t) { return t.slice(0, 16).replace("T", " "); }), datasets: lines }, options: options });
  }
  if (data.boosted && data.boosted.posts.length) {
    draw("chart-paid-organic-reach", { type: "bar", data: { labels: data.boosted.posts, datasets: [
      { label: labels.paid_reach, data: data.boosted.paid, backgroundColor: "#3b4fd8" },
      { label: labels.organic_reach, data: data.boosted.organic, backgroundColor: "#1a7f37" }
    ] }, options: options });
  }
})();
