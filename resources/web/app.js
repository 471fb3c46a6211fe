/* Terrafind's map page: layers, interaction and the QWebChannel bridge.
 *
 * The page is loaded once; Python drives it with TF.* calls (runJavaScript) and hears back through the
 * `bridge` object of the QWebChannel. Python speaks (lon, lat); Leaflet speaks (lat, lng): every swap
 * happens in this file, at the boundary, and nowhere else.
 *
 * Chips (results, examples, footprints) are drawn by ChipLayer: canvas circle markers while a chip is
 * only a few pixels wide, its footprint polygon once it is big enough to see. Features are made once per
 * set* call; the threshold and the zoom only move existing features in and out of groups.
 */
(function () {
  "use strict";

  const TF = (window.TF = {});
  let map = null;
  let bridge = null;
  const outbox = []; // calls to Python made before the channel was up
  let drawing = false;
  let drawHandler = null;

  function send(method) {
    const args = Array.prototype.slice.call(arguments, 1);
    if (bridge) bridge[method].apply(bridge, args);
    else outbox.push([method, args]);
  }

  TF.escapeHtml = function (value) {
    return String(value == null ? "" : value).replace(/[&<>"'`]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" }[c];
    });
  };

  // --- colour by score (a viridis-like ramp; readable on imagery and on the pale land) --------------
  const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function rampColour(t) {
    t = Math.max(0, Math.min(1, isFinite(t) ? t : 0)) * (RAMP.length - 1);
    const i = Math.min(RAMP.length - 2, Math.floor(t));
    const f = t - i;
    const c = RAMP[i].map(function (v, k) { return Math.round(v + (RAMP[i + 1][k] - v) * f); });
    return "rgb(" + c.join(",") + ")";
  }

  // --- geometry helpers ------------------------------------------------------------------------------
  function bboxOf(geometry) {
    let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
    (function walk(c) {
      if (typeof c[0] === "number") {
        if (c[0] < w) w = c[0];
        if (c[0] > e) e = c[0];
        if (c[1] < s) s = c[1];
        if (c[1] > n) n = c[1];
      } else for (let i = 0; i < c.length; i++) walk(c[i]);
    })(geometry.coordinates);
    return [w, s, e, n];
  }
  function toBounds(b) { return L.latLngBounds([b[1], b[0]], [b[3], b[2]]); }

  // Width on screen (px) of a chip `deg` degrees wide at zoom z (web mercator x is linear in lon).
  function chipPixels(deg, z) { return (deg / 360) * 256 * Math.pow(2, z); }

  function median(values) {
    if (!values.length) return 0;
    const v = values.slice().sort(function (a, b) { return a - b; });
    return v[Math.floor(v.length / 2)];
  }

  // --- ChipLayer -------------------------------------------------------------------------------------
  function ChipLayer(opts) {
    this.opts = opts; // {pane, style(item)->path options, radius, interactive, minPixels, onClick, shapesAt, points}
    this.items = [];
    this.byRow = new Map();
    this.renderer = L.canvas({ pane: opts.pane, padding: 0.3 });
    this.points = L.layerGroup();
    this.shapes = L.layerGroup();
    this.container = L.layerGroup(); // what the layer switcher shows/hides
    this.threshold = -Infinity;
    this.chipDeg = 0;
    this.mode = "none";
  }
  ChipLayer.prototype.set = function (fc) {
    this.points.clearLayers();
    this.shapes.clearLayers();
    this.items = [];
    this.byRow = new Map();
    const feats = (fc && fc.features) || [];
    const widths = [];
    for (let i = 0; i < feats.length; i++) {
      const f = feats[i];
      if (!f || !f.geometry) continue;
      const p = f.properties || {};
      const isPoint = f.geometry.type === "Point";
      const bbox = isPoint ? [f.geometry.coordinates[0], f.geometry.coordinates[1], f.geometry.coordinates[0], f.geometry.coordinates[1]] : bboxOf(f.geometry);
      const item = {
        feature: f, props: p, row: p.row, bbox: bbox, isPoint: isPoint,
        score: typeof p.score === "number" ? p.score : null, point: null, shape: null, visible: true,
      };
      if (!isPoint) widths.push(bbox[2] - bbox[0]);
      this.items.push(item);
      if (p.row != null && !this.byRow.has(p.row)) this.byRow.set(p.row, item);
    }
    this.chipDeg = median(widths);
    if (this.opts.prepare) this.opts.prepare(this);
    if (this.opts.points !== false) {
      for (let i = 0; i < this.items.length; i++) {
        const it = this.items[i];
        it.point = this._makePoint(it);
        it.visible = this._passes(it);
        if (it.visible) this.points.addLayer(it.point);
      }
    }
    this.mode = "none";
    this.update();
  };
  ChipLayer.prototype._passes = function (it) { return it.score == null || it.score >= this.threshold; };
  ChipLayer.prototype._makePoint = function (it) {
    const b = it.bbox;
    const m = L.circleMarker([(b[1] + b[3]) / 2, (b[0] + b[2]) / 2], L.extend({
      renderer: this.renderer, pane: this.opts.pane, radius: this.opts.radius || 5,
      interactive: !!this.opts.interactive, bubblingMouseEvents: !this.opts.interactive,
    }, this.opts.pointStyle(it)));
    this._wire(m, it);
    return m;
  };
  ChipLayer.prototype._makeShape = function (it) {
    if (it.isPoint) return this._makePoint(it);
    const layer = L.GeoJSON.geometryToLayer(it.feature, {
      renderer: this.renderer, pane: this.opts.pane,
      interactive: !!this.opts.interactive, bubblingMouseEvents: !this.opts.interactive,
    });
    layer.setStyle(this.opts.shapeStyle(it));
    this._wire(layer, it);
    return layer;
  };
  ChipLayer.prototype._wire = function (layer, it) {
    const onClick = this.opts.onClick;
    if (onClick) layer.on("click", function (e) { onClick(it, e); });
  };
  ChipLayer.prototype.wantShapes = function () {
    if (!map || !this.chipDeg) return false;
    return chipPixels(this.chipDeg, map.getZoom()) >= (this.opts.shapePixels || 10);
  };
  // Zoom changed, or new data: show points or shapes (shapes made on first need, then kept).
  ChipLayer.prototype.update = function () {
    const mode = this.wantShapes() ? "shapes" : "points";
    if (mode === "shapes" && this.opts.viewOnly) return this._updateViewShapes();
    if (mode === this.mode) return;
    this.mode = mode;
    if (mode === "shapes") {
      for (let i = 0; i < this.items.length; i++) {
        const it = this.items[i];
        if (!it.shape) it.shape = this._makeShape(it);
        if (it.visible && !this.shapes.hasLayer(it.shape)) this.shapes.addLayer(it.shape);
      }
      this.container.removeLayer(this.points);
      this.container.addLayer(this.shapes);
    } else {
      this.container.removeLayer(this.shapes);
      if (this.opts.points !== false) this.container.addLayer(this.points);
    }
  };
  // Footprints can be 100,000s: only those near the view become polygons (kept in a cache by index).
  ChipLayer.prototype._updateViewShapes = function () {
    this.mode = "shapes";
    const vb = map.getBounds().pad(0.25);
    const w = vb.getWest(), s = vb.getSouth(), e = vb.getEast(), n = vb.getNorth();
    const limit = this.opts.viewLimit || 20000;
    const want = new Set();
    for (let i = 0; i < this.items.length && want.size < limit; i++) {
      const b = this.items[i].bbox;
      if (b[2] >= w && b[0] <= e && b[3] >= s && b[1] <= n) want.add(i);
    }
    const self = this;
    this.shapes.eachLayer(function (layer) { if (!want.has(layer._tfIndex)) self.shapes.removeLayer(layer); });
    want.forEach(function (i) {
      const it = self.items[i];
      if (!it.shape) { it.shape = self._makeShape(it); it.shape._tfIndex = i; }
      if (!self.shapes.hasLayer(it.shape)) self.shapes.addLayer(it.shape);
    });
    this.container.addLayer(this.shapes);
  };
  ChipLayer.prototype.hideAll = function () {
    this.container.removeLayer(this.shapes);
    this.container.removeLayer(this.points);
    this.mode = "none";
  };
  ChipLayer.prototype.setThreshold = function (t) {
    this.threshold = t;
    for (let i = 0; i < this.items.length; i++) {
      const it = this.items[i];
      const vis = this._passes(it);
      if (vis === it.visible) continue;
      it.visible = vis;
      const act = vis ? "addLayer" : "removeLayer";
      if (it.point) this.points[act](it.point);
      if (it.shape && (vis ? this.mode === "shapes" : true)) this.shapes[act](it.shape);
    }
  };
  ChipLayer.prototype.visibleCount = function () {
    let n = 0;
    for (let i = 0; i < this.items.length; i++) if (this.items[i].visible) n++;
    return n;
  };

  // --- layers ------------------------------------------------------------------------------------------
  let results, examples, footprints, selection, regionLayer, layerControl;
  const baseLayers = {};
  let onlineNames = [];
  let imageryName = null;
  let selectedRow = null;
  const popup = L.popup({ maxWidth: 280, minWidth: 180, autoPanPadding: [30, 30], className: "tf-popup-wrap" });

  function makePane(name, z, clickable) {
    const pane = map.createPane(name);
    pane.style.zIndex = String(z);
    if (!clickable) pane.style.pointerEvents = "none"; // let clicks fall through to results / the map
    return pane;
  }

  function resultStyle(it, shape) {
    const colour = rampColour(it.norm);
    return shape
      ? { color: colour, weight: 2, opacity: 0.95, fillColor: colour, fillOpacity: 0.45 }
      : { color: "#1b1b1b", weight: 0.6, opacity: 0.9, fillColor: colour, fillOpacity: 0.9 };
  }
  const KIND = { positive: "#2ecc40", negative: "#ff4136" };

  function buildPopup(it) {
    const p = it.props;
    const row = Number(p.row) | 0;
    const box = L.DomUtil.create("div", "tf-popup");
    const img = L.DomUtil.create("img", "tf-thumb", box);
    img.alt = "thumbnail";
    img.src = "/thumb/" + row + ".png";
    img.onerror = function () {
      const note = L.DomUtil.create("div", "tf-nothumb");
      note.textContent = "no thumbnail";
      img.replaceWith(note);
    };
    const meta = L.DomUtil.create("div", "tf-meta", box);
    // textContent everywhere: ids and dates come from the dataset, which is untrusted input
    const head = L.DomUtil.create("div", "tf-head", meta);
    head.textContent = "#" + (p.rank != null ? p.rank : "?") + "   score " + (typeof p.score === "number" ? p.score.toFixed(3) : "?");
    if (typeof p.probability === "number") {
      L.DomUtil.create("div", "", meta).textContent = "probability " + p.probability.toFixed(2);
    }
    if (p.date) L.DomUtil.create("div", "tf-date", meta).textContent = String(p.date);
    if (p.id != null) L.DomUtil.create("div", "tf-id", meta).textContent = String(p.id);
    const buttons = L.DomUtil.create("div", "tf-buttons", box);
    [["Yes, this", "positive", "tf-yes"], ["Not this", "negative", "tf-no"]].forEach(function (b) {
      const btn = L.DomUtil.create("button", b[2], buttons);
      btn.type = "button";
      btn.textContent = b[0];
      L.DomEvent.on(btn, "click", function (e) {
        L.DomEvent.stop(e);
        send("labelRequested", row, b[1]);
        map.closePopup(popup);
      });
    });
    L.DomEvent.disableClickPropagation(box);
    return box;
  }

  function openPopupFor(it, latlng) {
    const b = it.bbox;
    popup.setLatLng(latlng || [(b[1] + b[3]) / 2, (b[0] + b[2]) / 2]).setContent(buildPopup(it)).openOn(map);
  }

  function loadBasemap(urls) {
    const renderer = L.canvas({ pane: "tf-ne", padding: 0.3 });
    const styles = [
      { stroke: false, fill: true, fillColor: "#f1eee6", fillOpacity: 1 },
      { color: "#8c8c8c", weight: 0.7, opacity: 0.9, fill: false },
    ];
    // Fetched together, drawn in order: land fill first, country lines on top.
    Promise.all(urls.map(function (url) {
      return fetch(url).then(function (r) { if (!r.ok) throw new Error(url + " " + r.status); return r.json(); });
    }))
      .then(function (collections) {
        collections.forEach(function (fc, i) {
          L.geoJSON(fc, { renderer: renderer, pane: "tf-ne", interactive: false, style: styles[i] || styles[1] }).addTo(map);
        });
        TF.basemapLoaded = collections.length;
      })
      .catch(function (err) { console.error("basemap: " + err); });
  }

  function debounce(fn, ms) {
    let t = null;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  function sendView() {
    const b = map.getBounds();
    send("viewChanged", b.getWest(), b.getSouth(), b.getEast(), b.getNorth(), map.getZoom());
  }

  function modifierOf(ev) {
    if (!ev) return "";
    if (ev.shiftKey) return "shift";
    if (ev.ctrlKey || ev.metaKey) return "ctrl";
    if (ev.altKey) return "alt";
    return "";
  }

  TF.boot = function (leafletMap, options) {
    map = leafletMap;
    TF.map = map;
    map.setMinZoom(2);
    map.setMaxZoom(19);
    makePane("tf-ne", 150, false); // below the tile pane (200): imagery covers the outlines where it exists
    makePane("tf-footprints", 410, false);
    makePane("tf-examples", 420, false);
    makePane("tf-results", 430, true);
    makePane("tf-region", 440, false);
    makePane("tf-selection", 450, false);
    map.attributionControl.addAttribution("Natural Earth (public domain)");

    footprints = new ChipLayer({
      pane: "tf-footprints", points: false, viewOnly: true, shapePixels: 6,
      // grey, thin, half transparent: faint on pale land and on imagery alike
      shapeStyle: function () { return { color: "#5a5a5a", weight: 0.7, opacity: 0.45, fill: false }; },
      pointStyle: function () { return {}; },
    });
    examples = new ChipLayer({
      pane: "tf-examples", radius: 7, shapePixels: 10,
      shapeStyle: function (it) { const c = KIND[it.props.kind] || "#ffdc00"; return { color: c, weight: 3, opacity: 1, fillColor: c, fillOpacity: 0.25 }; },
      pointStyle: function (it) { const c = KIND[it.props.kind] || "#ffdc00"; return { color: "#ffffff", weight: 1.5, fillColor: c, fillOpacity: 1 }; },
    });
    results = new ChipLayer({
      pane: "tf-results", radius: 5, interactive: true, shapePixels: 10,
      prepare: function (layer) {
        let lo = Infinity, hi = -Infinity;
        layer.items.forEach(function (it) { if (it.score != null) { lo = Math.min(lo, it.score); hi = Math.max(hi, it.score); } });
        layer.items.forEach(function (it) { it.norm = it.score == null ? 1 : (hi > lo ? (it.score - lo) / (hi - lo) : 1); });
      },
      shapeStyle: function (it) { return resultStyle(it, true); },
      pointStyle: function (it) { return resultStyle(it, false); },
      onClick: function (it, e) {
        if (e && e.originalEvent) L.DomEvent.stop(e.originalEvent);
        TF.select(it.row, { pan: false });
        openPopupFor(it, e && e.latlng);
        send("resultClicked", Number(it.row) | 0);
      },
    });
    selection = new ChipLayer({
      pane: "tf-selection", radius: 11, shapePixels: 10,
      shapeStyle: function () { return { color: "#00e5ff", weight: 3.5, opacity: 1, fill: false }; },
      pointStyle: function () { return { color: "#00e5ff", weight: 3, opacity: 1, fill: false }; },
    });
    regionLayer = L.geoJSON(null, {
      pane: "tf-region", interactive: false,
      style: function () { return { color: "#ff851b", weight: 2.5, dashArray: "8 6", fill: false }; },
    });
    [footprints, examples, results, selection].forEach(function (l) { l.container.addTo(map); });
    regionLayer.addTo(map);

    baseLayers["Outlines only"] = L.layerGroup().addTo(map);
    layerControl = L.control.layers(baseLayers, {
      "Chip footprints": footprints.container,
      "Examples": examples.container,
      "Results": results.container,
      "Region": regionLayer,
    }, { position: "topright", collapsed: true }).addTo(map);

    new L.Control.Draw({
      position: "topleft",
      draw: {
        polyline: false, circle: false, circlemarker: false, marker: false,
        rectangle: { shapeOptions: { color: "#ff851b", weight: 2 } },
        polygon: { allowIntersection: false, shapeOptions: { color: "#ff851b", weight: 2 } },
      },
      edit: false,
    }).addTo(map);
    map.on(L.Draw.Event.DRAWSTART, function () { drawing = true; });
    map.on(L.Draw.Event.DRAWSTOP, function () {
      drawHandler = null;
      setTimeout(function () { drawing = false; }, 0); // swallow the click that ends a rectangle
    });
    map.on(L.Draw.Event.CREATED, function (e) {
      const geometry = e.layer.toGeoJSON().geometry;
      TF.setRegion(geometry);
      send("regionDrawn", JSON.stringify(geometry));
    });

    map.on("click", function (e) {
      if (drawing) return;
      send("mapClicked", e.latlng.lat, e.latlng.lng, modifierOf(e.originalEvent)); // lat/lng: Python swaps
    });
    map.on("zoomend", function () { footprints.update(); examples.update(); results.update(); selection.update(); });
    map.on("moveend", function () { if (footprints.mode === "shapes") footprints.update(); });
    map.on("moveend", debounce(sendView, 150));

    loadBasemap((options && options.basemap) || []);

    window.addEventListener("error", function (ev) { send("jsError", String(ev.message || ev)); });
    if (window.qt && window.qt.webChannelTransport) {
      new QWebChannel(window.qt.webChannelTransport, function (channel) {
        bridge = channel.objects.bridge;
        while (outbox.length) { const m = outbox.shift(); bridge[m[0]].apply(bridge, m[1]); }
        bridge.pageReady();
        sendView();
      });
    }
  };

  // --- the API Python calls ---------------------------------------------------------------------------
  TF.setFootprints = function (fc) { footprints.set(fc); };
  TF.setExamples = function (fc) { examples.set(fc); };
  TF.setResults = function (fc) {
    map.closePopup(popup);
    results.set(fc);
    if (selectedRow != null && !results.byRow.has(selectedRow)) TF.select(null);
  };
  TF.setThreshold = function (t) {
    results.setThreshold(Number(t));
  };
  TF.findChip = function (row) {
    return results.byRow.get(row) || examples.byRow.get(row) || footprints.byRow.get(row) || null;
  };
  TF.select = function (row, opts) {
    opts = opts || {};
    const it = row == null ? null : TF.findChip(row);
    selectedRow = it ? row : null;
    selection.set(it ? { type: "FeatureCollection", features: [it.feature] } : null);
    if (!it) return false;
    const bounds = toBounds(it.bbox);
    if (opts.zoom) map.fitBounds(bounds, { maxZoom: 15, padding: [60, 60] });
    else if (opts.pan !== false) map.panTo(bounds.getCenter());
    return true;
  };
  TF.openPopup = function (row) {
    const it = results.byRow.get(row);
    if (!it) return false;
    openPopupFor(it);
    return true;
  };
  TF.setRegion = function (geometry) {
    regionLayer.clearLayers();
    if (geometry) regionLayer.addData({ type: "Feature", properties: {}, geometry: geometry });
  };
  TF.setDrawMode = function (mode) {
    if (drawHandler) { drawHandler.disable(); drawHandler = null; }
    const shape = { color: "#ff851b", weight: 2 };
    if (mode === "rectangle") drawHandler = new L.Draw.Rectangle(map, { shapeOptions: shape });
    else if (mode === "polygon") drawHandler = new L.Draw.Polygon(map, { allowIntersection: false, shapeOptions: shape });
    if (drawHandler) drawHandler.enable();
  };
  TF.isDrawing = function () { return drawing; };
  TF.fitBounds = function (w, s, e, n) { map.fitBounds([[s, w], [n, e]]); };
  TF.setView = function (lon, lat, zoom) { map.setView([lat, lon], zoom); };

  function useBase(name) {
    Object.keys(baseLayers).forEach(function (k) { if (k !== name && map.hasLayer(baseLayers[k])) map.removeLayer(baseLayers[k]); });
    if (baseLayers[name] && !map.hasLayer(baseLayers[name])) map.addLayer(baseLayers[name]);
  }
  function currentBase() {
    return Object.keys(baseLayers).filter(function (k) { return map.hasLayer(baseLayers[k]); })[0] || null;
  }
  function dropBase(name) {
    if (!baseLayers[name]) return;
    const wasOn = map.hasLayer(baseLayers[name]);
    map.removeLayer(baseLayers[name]);
    layerControl.removeLayer(baseLayers[name]);
    delete baseLayers[name];
    if (wasOn) useBase(imageryName && baseLayers[imageryName] ? imageryName : "Outlines only");
  }

  // opts: {url, maxNativeZoom, bounds: [w, s, e, n], attribution, name} or null to remove
  TF.setImagery = function (opts) {
    if (imageryName) dropBase(imageryName);
    imageryName = null;
    if (!opts) return;
    imageryName = opts.name || "Imagery (offline)";
    const layer = L.tileLayer(opts.url, {
      maxNativeZoom: opts.maxNativeZoom, maxZoom: 19, minZoom: 0,
      bounds: opts.bounds ? toBounds(opts.bounds) : undefined,
      attribution: TF.escapeHtml(opts.attribution || ""), // may come from a dataset: never raw HTML
    });
    baseLayers[imageryName] = layer;
    layerControl.addBaseLayer(layer, imageryName);
    useBase(imageryName);
  };
  // layers: [{name, url, attribution, maxZoom}] (Python's fixed list) when online, [] when offline
  TF.setOnline = function (layers) {
    onlineNames.forEach(dropBase);
    onlineNames = [];
    (layers || []).forEach(function (d) {
      const layer = L.tileLayer(d.url, { maxZoom: d.maxZoom || 19, attribution: d.attribution });
      baseLayers[d.name] = layer;
      onlineNames.push(d.name);
      layerControl.addBaseLayer(layer, d.name);
    });
  };
  TF.useBaseLayer = function (name) { useBase(name); return currentBase(); };

  TF.counts = function () {
    return {
      results: results.visibleCount(),
      results_total: results.items.length,
      examples: examples.items.length,
      footprints: footprints.items.length,
      footprints_drawn: footprints.mode === "shapes" ? footprints.shapes.getLayers().length : 0,
      selected: selectedRow,
      results_mode: results.mode,
      base: currentBase(),
      basemap_loaded: TF.basemapLoaded || 0,
    };
  };
})();
