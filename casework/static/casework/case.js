/* The case page: the small map of the place (Leaflet, set up by django-leaflet, calls
 * window.wanggeCaseMap), where a case of the unlocated queue is placed by a click (place.js),
 * and a check that a move needing photos has one before it is sent. */
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
    } else if (data.areas && data.areas.features.length) {
      // The areas the case may be placed in: the reported point lies outside them all.
      var areas = L.geoJSON(data.areas, {
        interactive: false,
        style: function (feature) {
          return { color: "#0b69a3", weight: 1.5, opacity: 0.8, fillColor: "#0b69a3",
                   fillOpacity: 0.05, className: "place-area area-" + feature.properties.code };
        },
      }).addTo(map);
      // Without animation: a zoom of four levels or fewer is animated by Leaflet, and the
      // first view must be in place when the page says it is ready.
      map.fitBounds(areas.getBounds(), { padding: [12, 12], maxZoom: 17, animate: false });
    } else {
      map.setView(point, 16);
    }
    L.circleMarker(point, { radius: 9, color: "#c8102e", weight: 3, fillColor: "#ffd43b",
                            fillOpacity: 0.9, className: "case-marker" }).addTo(map);
    var lonInput = document.querySelector("[data-place-lon]");
    var latInput = document.querySelector("[data-place-lat]");
    if (lonInput && latInput) {
      window.wanggePlacePicker({
        lonInput: lonInput,
        latInput: latInput,
        marker: { radius: 10, color: "#2b8a3e", weight: 3, fillColor: "#b2f2bb", fillOpacity: 0.9,
                  className: "place-marker" },
      }).attach(map);
    }
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
