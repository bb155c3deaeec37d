/* The case page: the small map of the place (Leaflet, set up by django-leaflet, calls
 * window.wanggeCaseMap), and a check that a move needing photos has one before it is sent. */
(function () {
  "use strict";

  window.wanggeCaseMap = function (map) {
    var data = JSON.parse(document.getElementById("case-map-data").textContent);
    var point = L.latLng(data.lat, data.lon);
    if (data.cell) {
      var cell = L.geoJSON(data.cell, {
        interactive: false,
        style: { color: "#6741d9", weight: 2, fillOpacity: 0.06 },
      }).addTo(map);
      map.fitBounds(cell.getBounds(), { padding: [16, 16], maxZoom: 18 });
    } else {
      map.setView(point, 16);
    }
    L.circleMarker(point, { radius: 9, color: "#c8102e", weight: 3, fillColor: "#ffd43b",
                            fillOpacity: 0.9, className: "case-marker" }).addTo(map);
    document.getElementById("case-map").setAttribute("data-ready", "true");
  };

  document.querySelectorAll("[data-photos-required]").forEach(function (field) {
    var form = field.closest("form");
    form.addEventListener("submit", function (event) {
      var count = 0;
      field.querySelectorAll('input[type="file"]').forEach(function (input) { count += input.files.length; });
      if (!count) {
        event.preventDefault();
        field.querySelector("[data-photos-missing]").hidden = false;
        field.querySelector('input[type="file"]').focus();
      }
    });
  });
})();
