/* Picking a place on a Leaflet map, for the report form and for placing a case of the
 * unlocated queue on the case page: a click on the map fills a pair of longitude / latitude
 * inputs (six decimals, about 0.1 m) and puts a marker there; typed coordinates move the
 * marker. The inputs work without this script. */
(function () {
  "use strict";

  /* options: lonInput, latInput, marker (L.circleMarker options), onChange(place) when the
   * coordinates are typed. Returns place(), set(lon, lat, zoom), show(zoom) and
   * attach(map, onPick): the map's clicks pick the place from then on. */
  window.wanggePlacePicker = function (options) {
    var lonInput = options.lonInput;
    var latInput = options.latInput;
    var map = null;
    var marker = null;

    function place() {
      var lon = parseFloat(lonInput.value), lat = parseFloat(latInput.value);
      return isFinite(lon) && isFinite(lat) ? { lon: lon, lat: lat } : null;
    }

    function show(zoom) {
      var p = place();
      if (!map || !p) return;
      var latlng = L.latLng(p.lat, p.lon);
      if (!marker) {
        marker = L.circleMarker(latlng, options.marker).addTo(map);
      } else {
        marker.setLatLng(latlng);
      }
      if (zoom) map.setView(latlng, Math.max(map.getZoom(), 16));
      map.getContainer().setAttribute("data-placed", "true");
    }

    function set(lon, lat, zoom) {
      lonInput.value = lon.toFixed(6);
      latInput.value = lat.toFixed(6);
      show(zoom);
    }

    [lonInput, latInput].forEach(function (input) {
      input.addEventListener("change", function () {
        show(true);
        if (options.onChange) options.onChange(place());
      });
    });

    function attach(leafletMap, onPick) {
      map = leafletMap;
      map.on("click", function (event) {
        set(event.latlng.lng, event.latlng.lat, false);
        if (onPick) onPick(place());
      });
      show(true);
    }

    return { place: place, set: set, show: show, attach: attach };
  };
})();
