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
      { label: labels.expected, data: data.expected, borderColor: "#3b4fd8", borderDash: [3, 3], pointRadius: 0 },
      { label: labels.upper, data: data.upper, borderColor: "#bf8700", borderDash: [3, 3], pointRadius: 0 },
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
      var lines = function (items) { return (items || []).map(function (x) { return x.key + "|" + x.name; }).join("\n"); };
      document.getElementById("id_regions").value = lines(a.regions);
      document.getElementById("id_cities").value = lines(a.cities);
      document.getElementById("id_languages").value = lines(a.languages);
      document.getElementById("id_interests").value = lines(a.interests);
      Array.prototype.forEach.call(document.querySelectorAll('input[name="genders"]'), function (box) {
        box.checked = (a.genders || []).indexOf(box.value) >= 0;
      });
    });
  }
  // Targeting search and reach estimate through the selected ad account.
  var box = document.getElementById("targeting-search");
  var account = document.getElementById("id_account");
  if (box && account) {
    var url = function (name) { return box.dataset[name].replace("/0/", "/" + account.value + "/"); };
    document.getElementById("targeting-go").addEventListener("click", function () {
      var kind = document.getElementById("targeting-kind").value;
      var q = document.getElementById("targeting-query").value;
      if (!account.value || !q) { return; }
      fetch(url("targeting") + "?kind=" + encodeURIComponent(kind) + "&q=" + encodeURIComponent(q))
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          var list = document.getElementById("targeting-results");
          list.textContent = "";
          (answer.results || []).forEach(function (item) {
            var li = document.createElement("li");
            var add = document.createElement("button");
            add.type = "button";
            add.textContent = item.name + (item.detail ? " (" + item.detail + ")" : "");
            add.addEventListener("click", function () {
              var field = document.getElementById("id_" + kind);  // interests, regions, cities, languages
              field.value = (field.value ? field.value + "\n" : "") + item.key + "|" + item.name;
            });
            li.appendChild(add);
            list.appendChild(li);
          });
        });
    });
    document.getElementById("estimate-go").addEventListener("click", function () {
      if (!account.value) { return; }
      var form = account.form;
      var params = new URLSearchParams();
      ["countries", "regions", "cities", "languages", "interests", "age_min", "age_max", "objective"].forEach(function (name) {
        params.append(name, form.elements[name].value);
      });
      fetch(url("estimate") + "?" + params.toString())
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          document.getElementById("estimate-result").textContent = answer.text || "";
        });
    });
  }
})();
