/* The map of the user's areas: one level at a time, drill down by click, breadcrumb back up.
 * Leaflet map set up by django-leaflet ({% leaflet_map %}) calls window.wanggeAreaMap. */
(function () {
  "use strict";

  var LEVEL_COLOURS = { 1: "#1d3557", 2: "#0b69a3", 3: "#2b8a3e", 4: "#c2410c", 5: "#6741d9" };
  // Beyond this many areas permanent labels overlap; names then show on hover and in the list.
  var PERMANENT_LABEL_LIMIT = 40;

  var config, map, areaLayer, parentLayer, legend;
  var layersByCode = {};
  var selectedCode = null;
  var permanentLabels = true;
  var requestSerial = 0;
  var root, breadcrumbList, summary, tableBody, listTitle, emptyNote;

  function text(key, values) {
    var template = config.text[key];
    return template.replace(/%\((\w+)\)s/g, function (_, name) {
      return values && name in values ? String(values[name]) : "";
    });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function colour(level) {
    return LEVEL_COLOURS[level] || LEVEL_COLOURS[5];
  }

  function areaStyle(feature) {
    var c = colour(feature.properties.level);
    return { color: c, weight: 2, opacity: 0.9, fillColor: c, fillOpacity: 0.12,
             className: "area-shape level-" + feature.properties.level };
  }

  function selectedStyle(feature) {
    var style = areaStyle(feature);
    style.weight = 4;
    style.fillOpacity = 0.3;
    return style;
  }

  function codeFromLocation() {
    return new URLSearchParams(window.location.search).get("area");
  }

  function urlFor(code) {
    return code ? "?area=" + encodeURIComponent(code) : window.location.pathname;
  }

  function setState(state, parentCode) {
    root.setAttribute("data-state", state);
    root.setAttribute("data-parent", parentCode || "");
    root.setAttribute("aria-busy", state === "loading" ? "true" : "false");
  }

  function load(code, push) {
    var serial = ++requestSerial;
    setState("loading", code);
    var url = new URL(config.apiUrl, window.location.origin);
    if (code) url.searchParams.set("parent", code);
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        if (serial !== requestSerial) return;
        if (push) window.history.pushState({ area: code }, "", urlFor(code));
        render(data, code);
        setState("ready", code);
      })
      .catch(function () {
        if (serial !== requestSerial) return;
        summary.textContent = text("loadFailed");
        setState("error", code);
      });
  }

  function render(data, code) {
    selectedCode = null;
    layersByCode = {};
    parentLayer.clearLayers();
    areaLayer.clearLayers();
    if (data.parent && data.parent.geometry) parentLayer.addData(data.parent.geometry);
    permanentLabels = data.features.length <= PERMANENT_LABEL_LIMIT;
    areaLayer.addData(data.features);
    var bounds = areaLayer.getBounds();
    if (!bounds.isValid()) bounds = parentLayer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 18 });

    renderBreadcrumb(data, code);
    renderTable(data);
    renderSummary(data);
    renderLegend(data);
  }

  function renderBreadcrumb(data, code) {
    breadcrumbList.textContent = "";
    var crumbs = [{ code: null, name: text("myAreas") }].concat(data.breadcrumb);
    crumbs.forEach(function (crumb, index) {
      var last = index === crumbs.length - 1;
      var item;
      if (last) {
        item = el("li", { "aria-current": "page" }, [el("span", { text: crumb.name })]);
      } else {
        var link = el("a", { href: urlFor(crumb.code), "data-code": crumb.code || "", text: crumb.name });
        link.addEventListener("click", function (event) {
          event.preventDefault();
          load(crumb.code, true);
        });
        item = el("li", {}, [link]);
      }
      breadcrumbList.appendChild(item);
    });
  }

  function renderTable(data) {
    tableBody.textContent = "";
    var levels = distinctLevels(data.features);
    listTitle.textContent = levels.length === 1 ? levels[0].label : text("areas");
    emptyNote.hidden = data.features.length > 0;
    data.features.forEach(function (feature) {
      var p = feature.properties;
      var zoom = el("button", { type: "button", class: "area-zoom", text: p.name,
                                title: text("zoomTo", { name: p.name }) });
      var drillCell = el("td", { class: "drill" });
      if (p.child_count > 0) {
        var drill = el("button", { type: "button", class: "area-drill",
                                   "aria-label": text("openChildren", { name: p.name }),
                                   text: text("open") });
        drill.addEventListener("click", function (event) {
          event.stopPropagation();
          load(p.code, true);
        });
        drillCell.appendChild(drill);
      }
      var row = el("tr", { "data-code": p.code }, [
        el("td", { class: "code", text: p.code }),
        el("td", { class: "name" }, [zoom]),
        el("td", { class: "num", text: String(p.child_count) }),
        drillCell,
      ]);
      row.addEventListener("click", function () { select(p.code, true); });
      tableBody.appendChild(row);
    });
  }

  function renderSummary(data) {
    var key = data.count === 1 ? "shownOne" : "shownOther";
    var shown = text(key, { count: data.count });
    summary.textContent = data.parent ? data.parent.name + " · " + shown : shown;
  }

  function distinctLevels(features) {
    var seen = {};
    var levels = [];
    features.forEach(function (feature) {
      var p = feature.properties;
      if (!seen[p.level]) {
        seen[p.level] = { level: p.level, label: p.level_label, count: 0 };
        levels.push(seen[p.level]);
      }
      seen[p.level].count += 1;
    });
    return levels.sort(function (a, b) { return a.level - b.level; });
  }

  function renderLegend(data) {
    var box = legend.getContainer();
    box.textContent = "";
    box.appendChild(el("h3", { text: text("legend") }));
    var list = el("ul");
    distinctLevels(data.features).forEach(function (entry) {
      var swatch = el("span", { class: "swatch", "aria-hidden": "true" });
      swatch.style.borderColor = colour(entry.level);
      swatch.style.backgroundColor = colour(entry.level) + "33";
      list.appendChild(el("li", { "data-level": String(entry.level) }, [
        swatch, el("span", { text: entry.label + " · " + entry.count }),
      ]));
    });
    if (data.parent) {
      list.appendChild(el("li", { class: "outline" }, [
        el("span", { class: "swatch parent", "aria-hidden": "true" }),
        el("span", { text: text("boundaryOf", { name: data.parent.name }) }),
      ]));
    }
    box.appendChild(list);
  }

  function select(code, zoom) {
    if (selectedCode && layersByCode[selectedCode]) {
      var previous = layersByCode[selectedCode];
      previous.setStyle(areaStyle(previous.feature));
    }
    Array.prototype.forEach.call(tableBody.querySelectorAll("tr.selected"), function (row) {
      row.classList.remove("selected");
      row.removeAttribute("aria-selected");
    });
    selectedCode = code;
    var layer = layersByCode[code];
    if (layer) {
      layer.setStyle(selectedStyle(layer.feature));
      layer.bringToFront();
      if (zoom) map.fitBounds(layer.getBounds(), { padding: [32, 32], maxZoom: 18 });
    }
    var row = tableBody.querySelector('tr[data-code="' + code + '"]');
    if (row) {
      row.classList.add("selected");
      row.setAttribute("aria-selected", "true");
      if (!zoom) row.scrollIntoView({ block: "nearest" });
    }
    root.setAttribute("data-selected", code);
  }

  function onEachFeature(feature, layer) {
    var p = feature.properties;
    layersByCode[p.code] = layer;
    var label = el("span", { text: p.name });
    layer.bindTooltip(label, {
      permanent: permanentLabels, direction: "center", className: "area-label",
    });
    layer.on("add", function () {
      var path = layer.getElement();
      if (path) {
        path.setAttribute("data-code", p.code);
        path.setAttribute("data-level", String(p.level));
      }
    });
    layer.on("click", function () {
      if (p.child_count > 0) load(p.code, true);
      else select(p.code, false);
    });
  }

  function addLegend() {
    var Legend = L.Control.extend({
      options: { position: "bottomright" },
      onAdd: function () {
        var box = L.DomUtil.create("div", "map-legend");
        L.DomEvent.disableClickPropagation(box);
        return box;
      },
    });
    legend = new Legend().addTo(map);
  }

  window.wanggeAreaMap = function (leafletMap) {
    config = JSON.parse(document.getElementById("map-config").textContent);
    map = leafletMap;
    // Whole zoom steps leave a small area tiny or cut off; quarter steps fit it to the screen.
    map.options.zoomSnap = 0.25;
    root = document.getElementById("map-root");
    breadcrumbList = document.getElementById("area-breadcrumb");
    summary = document.getElementById("area-summary");
    tableBody = document.getElementById("area-rows");
    listTitle = document.getElementById("area-list-title");
    emptyNote = document.getElementById("area-empty");

    parentLayer = L.geoJSON(null, {
      interactive: false,
      style: { color: "#102a43", weight: 3, dashArray: "6 4", fill: false,
               className: "parent-outline" },
    }).addTo(map);
    areaLayer = L.geoJSON(null, { style: areaStyle, onEachFeature: onEachFeature }).addTo(map);
    addLegend();

    window.addEventListener("popstate", function () { load(codeFromLocation(), false); });
    load(codeFromLocation(), false);
  };
})();
