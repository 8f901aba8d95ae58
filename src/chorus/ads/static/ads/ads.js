// Draws the ads charts from the JSON the page embeds, with the same Chart.js the analytics pages use.
(function () {
  "use strict";
  var node = document.getElementById("ads-chart-data");
  if (!node || typeof Chart === "undefined") { return; }
  var data = JSON.parse(node.textContent) || {};
  var labels = JSON.parse(document.getElementById("ads-chart-labels").textContent);
  var options = { responsive: true, maintainAspectRatio: false, interaction: { mode: "index", intersect: false } };
  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) { new Chart(canvas, config); }
  }
  if (data.days) {
    draw("chart-spend", { type: "line", data: { labels: data.days, datasets: [
      { label: labels.spend, data: data.spend, borderColor: "#3b4fd8", backgroundColor: "#3b4fd8", pointRadius: 0 },
      { label: labels.budget, data: data.budget, borderColor: "#b42318", borderDash: [6, 4], pointRadius: 0 }
    ] }, options: options });
  }
  if (data.paid) {
    draw("chart-paid-organic", { type: "bar", data: { labels: data.labels, datasets: [
      { label: labels.paid, data: data.paid, backgroundColor: "#3b4fd8" },
      { label: labels.organic, data: data.organic, backgroundColor: "#1a7f37" }
    ] }, options: options });
  }
  // The boost form: a saved audience fills the audience fields; the targeting search adds lines.
  var pick = document.getElementById("id_saved_audience");
  var saved = document.getElementById("saved-audiences");
  if (pick && saved) {
    var audiences = JSON.parse(saved.textContent);
    pick.addEventListener("change", function () {
      var a = audiences[pick.value];
      if (!a) { return; }
      document.getElementById("id_countries").value = (a.countries || []).join(", ");
      document.getElementById("id_age_min").value = a.age_min || 18;
      document.getElementById("id_age_max").value = a.age_max || 65;
      document.getElementById("id_regions").value = (a.regions || []).concat(a.cities || []).map(function (x) { return x.key + "|" + x.name; }).join("\n");
      document.getElementById("id_interests").value = (a.interests || []).map(function (x) { return x.key + "|" + x.name; }).join("\n");
    });
  }
})();
