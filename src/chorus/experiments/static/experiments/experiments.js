// Each variant's estimate (solid) and 95 % credible interval (dashed), from the JSON the page embeds.
(function () {
  "use strict";
  var node = document.getElementById("experiment-chart");
  var canvas = document.getElementById("chart-experiment");
  if (!node || !canvas || typeof Chart === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  var palette = ["#3b4fd8", "#1a7f37", "#b42318", "#8250df", "#bf8700"];
  var sets = [];
  Object.keys(data.series).forEach(function (label, i) {
    var color = palette[i % palette.length];
    var s = data.series[label];
    sets.push({ label: label, data: s.mean, borderColor: color, backgroundColor: color, spanGaps: true });
    sets.push({ label: label + " ↓", data: s.low, borderColor: color, borderDash: [4, 4], pointRadius: 0, spanGaps: true });
    sets.push({ label: label + " ↑", data: s.high, borderColor: color, borderDash: [4, 4], pointRadius: 0, spanGaps: true });
  });
  new Chart(canvas, { type: "line", data: { labels: data.days, datasets: sets },
    options: { responsive: true, maintainAspectRatio: false, scales: { y: { ticks: { callback: function (v) { return v + " %"; } } } } } });
})();
