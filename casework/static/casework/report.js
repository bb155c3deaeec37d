/* The report form: the place from the device or a tap on the map (place.js), the category
 * picker's search, the facilities near the place for a component, the photo count. The form
 * works without this script (typed coordinates, a button for the facilities); the script only
 * makes it quicker. Leaflet, set up by django-leaflet, calls window.wanggeReportMap. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("report-config").textContent);
  var form = document.getElementById("report-form");
  var lonInput = document.getElementById("id_lon");
  var latInput = document.getElementById("id_lat");
  var placeStatus = document.getElementById("place-status");
  var facilityStep = document.getElementById("facility-step");
  var facilityList = document.getElementById("facility-list");
  var facilityStatus = document.getElementById("facility-status");
  var findFacilities = document.getElementById("find-facilities");
  var facilityRequest = 0;
  var picker = window.wanggePlacePicker({
    lonInput: lonInput,
    latInput: latInput,
    marker: { radius: 10, color: "#c8102e", weight: 3, fillColor: "#ffd43b", fillOpacity: 0.9,
              className: "report-marker" },
    onChange: function () { refreshFacilities(); },
  });

  function text(key, values) {
    return config.text[key].replace(/%\((\w+)\)s/g, function (_, name) {
      return values && name in values ? String(values[name]) : "";
    });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function setPlace(lon, lat, message, zoom) {
    picker.set(lon, lat, zoom);
    placeStatus.textContent = message;
    refreshFacilities();
  }

  // ---- the place

  var locate = document.getElementById("use-location");
  if (navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      placeStatus.textContent = text("locating");
      navigator.geolocation.getCurrentPosition(function (position) {
        setPlace(position.coords.longitude, position.coords.latitude,
                 text("located", { accuracy: Math.round(position.coords.accuracy) }), true);
      }, function (error) {
        placeStatus.textContent = text("geolocationFailed", { reason: error.message || error.code });
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
    });
  }

  window.wanggeReportMap = function (map) {
    var areas = JSON.parse(document.getElementById("report-areas").textContent);
    var layer = L.geoJSON(areas, {
      interactive: false,
      style: { color: "#0b69a3", weight: 1.5, opacity: 0.8, fillColor: "#0b69a3", fillOpacity: 0.05 },
    }).addTo(map);
    var bounds = layer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom: 17 });
    picker.attach(map, function () {
      placeStatus.textContent = text("picked");
      refreshFacilities();
    });
    document.getElementById("report-map").setAttribute("data-ready", "true");
  };

  // ---- the category

  var searchField = document.getElementById("category-search-field");
  var search = document.getElementById("category-search");
  var noMatch = document.getElementById("category-nomatch");
  var majors = Array.prototype.slice.call(document.querySelectorAll("#category-tree details.major"));
  searchField.hidden = false;

  function chosenCategory() {
    return form.querySelector('input[name="category"]:checked');
  }

  search.addEventListener("input", function () {
    var q = search.value.trim().toLowerCase();
    var matches = 0;
    majors.forEach(function (major) {
      var shown = 0;
      major.querySelectorAll("label.choice").forEach(function (label) {
        var hit = !q || label.getAttribute("data-search").toLowerCase().indexOf(q) !== -1;
        label.parentNode.hidden = !hit;
        if (hit) shown += 1;
      });
      major.hidden = shown === 0;
      major.open = q ? shown > 0 : major.contains(chosenCategory());
      matches += shown;
    });
    noMatch.hidden = matches > 0;
    noMatch.textContent = matches > 0 ? "" : text("noMatch", { q: search.value.trim() });
  });
  search.addEventListener("keydown", function (event) {
    // Enter picks the only match instead of sending the form.
    if (event.key !== "Enter") return;
    event.preventDefault();
    var visible = Array.prototype.filter.call(
      form.querySelectorAll('input[name="category"]'),
      function (input) { return !input.closest("li").hidden && !input.closest("details").hidden; });
    if (visible.length === 1) {
      visible[0].checked = true;
      visible[0].dispatchEvent(new Event("change", { bubbles: true }));
      visible[0].focus();
    }
  });
  form.addEventListener("change", function (event) {
    if (event.target.name === "category") refreshFacilities();
  });

  // ---- facilities near the place, for a component

  function clearFacilities() {
    facilityList.textContent = "";
  }

  function refreshFacilities() {
    var category = chosenCategory();
    var component = category && category.getAttribute("data-facility") === "1";
    facilityStep.hidden = !component;
    if (!component) { clearFacilities(); facilityStatus.textContent = ""; return; }
    var p = picker.place();
    if (!p) return;
    var serial = ++facilityRequest;
    var url = new URL(config.facilitiesUrl, window.location.origin);
    url.searchParams.set("lon", p.lon);
    url.searchParams.set("lat", p.lat);
    url.searchParams.set("category", category.value);
    facilityStep.setAttribute("data-state", "loading");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (facilities) {
        if (serial !== facilityRequest) return;
        clearFacilities();
        facilities.forEach(function (facility) {
          facilityList.appendChild(el("li", {}, [el("label", { class: "choice" }, [
            el("input", { type: "radio", name: "facility", value: String(facility.id) }),
            el("span", { class: "code", text: facility.code }), " " + facility.name + " ",
            el("span", { class: "muted small",
                         text: facility.state_label + " · " + text("metres", { distance: Math.round(facility.distance_m) }) }),
          ])]));
        });
        facilityList.appendChild(el("li", {}, [el("label", { class: "choice" }, [
          el("input", { type: "radio", name: "facility", value: "", checked: "checked" }), " " + text("noneFacility"),
        ])]));
        facilityStatus.textContent = facilities.length ? "" : text("noFacilities");
        facilityStep.setAttribute("data-state", "ready");
      })
      .catch(function () {
        if (serial !== facilityRequest) return;
        facilityStatus.textContent = text("facilitiesFailed");
        facilityStep.setAttribute("data-state", "error");
      });
  }

  // The button is the no-script way; with the script the list follows the place and category.
  findFacilities.hidden = true;
  if (!facilityList.children.length) refreshFacilities();
  else facilityStep.hidden = !(chosenCategory() && chosenCategory().getAttribute("data-facility") === "1");

  // ---- photos

  var photoStatus = document.getElementById("photo-status");
  form.querySelectorAll('input[type="file"][name="photos"]').forEach(function (input) {
    input.addEventListener("change", function () {
      var count = 0;
      form.querySelectorAll('input[type="file"][name="photos"]').forEach(function (each) {
        count += each.files.length;
      });
      photoStatus.textContent = count ? text("photosChosen", { count: count }) : "";
    });
  });

  // One report per tap: the button is disabled once the form is on its way.
  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (submitter && submitter.value === "facilities") return;
    document.getElementById("report-submit").disabled = true;
  });
})();
