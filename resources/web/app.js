/* Terrafind's map page: layers, interaction and the QWebChannel bridge.
 *
 * The page is loaded once; Python drives it with TF.* calls (runJavaScript) and hears back through the
 * `bridge` object of the QWebChannel. Python speaks (lon, lat); Leaflet speaks (lat, lng): every swap
 * happens in this file and chips.js, at the boundary, and nowhere else.
 *
 * Chips (results, examples, footprints) are drawn by ChipLayer (chips.js).
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

  const ChipLayer = window.TFChips.ChipLayer;
  const classColour = window.TFChips.classColour;
  const scaleOf = window.TFChips.scaleOf;
  const CLASSES = window.TFChips.CLASSES;
  const toBounds = window.TFChips.toBounds;

  // --- layers ------------------------------------------------------------------------------------------
  let results, examples, footprints, selection, hover, regionLayer, layerControl, legend;
  const baseLayers = {};
  let onlineNames = [];
  let imageryName = null;
  let selectedRow = null;
  let popupRow = null; // the result the open popup shows (tests and the self test read it)
  let colourBy = "auto"; // or "loss" (TF.setColourBy)
  let lastResults = null; // the results' FeatureCollection, to colour them again
  let thumbVersion = 0;
  const popup = L.popup({ maxWidth: 280, minWidth: 180, autoPanPadding: [30, 30], className: "tf-popup-wrap" });

  function makePane(name, z, clickable) {
    const pane = map.createPane(name);
    pane.style.zIndex = String(z);
    if (!clickable) pane.style.pointerEvents = "none"; // let clicks fall through to results / the map
    return pane;
  }

  function resultStyle(it, shape) {
    const colour = classColour(results.scale, it);
    return shape
      ? { color: colour, weight: 1.5, opacity: 0.95, fillColor: colour, fillOpacity: 0.5 }
      : { color: "#1b1b1b", weight: 0.6, opacity: 0.9, fillColor: colour, fillOpacity: 0.9 };
  }
  function fmt(x, digits) { return typeof x === "number" ? x.toFixed(digits) : "?"; }
  // "top 0.1 %" for a share of the region (core/search/percentiles.py format_top, in short)
  function topText(share) {
    if (typeof share !== "number") return null;
    if (share <= 0) return "top < 0.005 %";
    const pc = 100 * share;
    const digits = pc >= 10 ? 0 : pc >= 1 ? 1 : Math.max(1, Math.ceil(-Math.log10(pc)));
    return "top " + pc.toFixed(digits).replace(/\.0$/, "") + " %";
  }
  const KIND = { positive: "#2ecc40", negative: "#ff4136" };

  function buildPopup(it) {
    const p = it.props;
    const row = Number(p.row) | 0;
    const box = L.DomUtil.create("div", "tf-popup");
    const img = L.DomUtil.create("img", "tf-thumb", box);
    img.alt = "thumbnail";
    img.src = "/thumb/" + row + ".png?v=" + thumbVersion;
    img.dataset.row = String(row);
    img.onerror = function () {
      const note = L.DomUtil.create("div", "tf-nothumb");
      note.textContent = "no thumbnail";
      img.replaceWith(note);
    };
    const meta = L.DomUtil.create("div", "tf-meta", box);
    // textContent everywhere: ids and dates come from the dataset, which is untrusted input
    const head = L.DomUtil.create("div", "tf-head", meta);
    // Every number says what it is: the rank, where it stands in the region, similarity, probability.
    head.textContent = "Result #" + (p.rank != null ? p.rank : "?") + (topText(p.top) ? " · " + topText(p.top) + " of region" : "");
    L.DomUtil.create("div", "tf-score", meta).textContent = "similarity " + fmt(p.score, 3);
    if (typeof p.probability === "number") {
      L.DomUtil.create("div", "tf-score", meta).textContent = "probability (Refine) " + p.probability.toFixed(2);
    }
    if (typeof p.loss === "number") {
      const metric = TFChips.CLASSES.loss && TFChips.CLASSES.loss.metric ? TFChips.CLASSES.loss.metric : "loss";
      L.DomUtil.create("div", "tf-score", meta).textContent = "loss (" + metric + ") " + p.loss.toPrecision(3);
    }
    if (p.matched) L.DomUtil.create("div", "tf-date", meta).textContent = "matched example " + String(p.matched);
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
    popupRow = Number(it.row) | 0;
    send("popupOpened", popupRow); // Python cuts its thumbnail if it has none yet (TF.thumbnailReady)
  }
  // A click on a drawn hit: select it and open its popup (the page decides which hit: ChipLayer.pick).
  function openResult(it, latlng) {
    TF.select(it.row, { pan: false });
    openPopupFor(it, latlng);
    send("resultClicked", Number(it.row) | 0);
  }
  // The legend of the hits' colours (chips.js CLASSES), bottom right above the credits.
  function makeLegend() {
    const control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      const box = L.DomUtil.create("div", "tf-legend leaflet-bar");
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    control.show = function (scale) {
      const box = control.getContainer();
      if (!box) return;
      box.textContent = "";
      const table = CLASSES[scale];
      box.style.display = table ? "" : "none";
      if (!table) return;
      L.DomUtil.create("div", "tf-legend-title", box).textContent = table.title;
      table.classes.forEach(function (c) {
        const line = L.DomUtil.create("div", "tf-legend-row", box);
        const sw = L.DomUtil.create("span", "tf-swatch", line);
        sw.style.background = c.colour;
        L.DomUtil.create("span", "", line).textContent = c.label;
      });
    };
    return control;
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
    makePane("tf-results", 420, true);
    // Examples above results: half-stride neighbours in the results would otherwise hide the user's own
    // examples. The pane lets clicks through, so results under an example stay clickable.
    makePane("tf-examples", 430, false);
    makePane("tf-region", 440, false);
    makePane("tf-selection", 450, false);
    map.attributionControl.addAttribution("Natural Earth (public domain)");

    footprints = new ChipLayer({
      map: map,
      pane: "tf-footprints", points: false, viewOnly: true, shapePixels: 10,
      // grey, thin, mostly transparent: faint on pale land and on imagery alike (chips that overlap at
      // half stride draw each line twice, so a lower opacity still reads as one faint grid)
      // (lighter than before: the grid darkened the imagery; "Chip footprints" in the layers control hides it)
      shapeStyle: function () { return { color: "#5a5a5a", weight: 0.6, opacity: 0.12, fill: false }; },
      pointStyle: function () { return {}; },
    });
    examples = new ChipLayer({
      map: map,
      pane: "tf-examples", radius: 7, shapePixels: 10,
      shapeStyle: function (it) { const c = KIND[it.props.kind] || "#ffdc00"; return { color: c, weight: 3, opacity: 1, fillColor: c, fillOpacity: 0.25 }; },
      pointStyle: function (it) { const c = KIND[it.props.kind] || "#ffdc00"; return { color: "#ffffff", weight: 1.5, fillColor: c, fillOpacity: 1 }; },
    });
    // Hits are drawn as their chips' centre cells and never hit-tested by Leaflet (whose canvas gives a
    // click to the last drawn of overlapping shapes): the map's click handler asks results.pick().
    results = new ChipLayer({
      map: map,
      pane: "tf-results", radius: 5, interactive: false, shapePixels: 10, cells: true,
      prepare: function (layer) {
        layer.scale = colourBy === "loss" && TFChips.CLASSES.loss ? "loss" : scaleOf(layer.items);
      },
      shapeStyle: function (it) { return resultStyle(it, true); },
      pointStyle: function (it) { return resultStyle(it, false); },
    });
    // The full footprint of the hit under the pointer (the cell is only its centre part).
    hover = new ChipLayer({
      map: map,
      pane: "tf-selection", radius: 9, shapePixels: 10,
      shapeStyle: function () { return { color: "#ffffff", weight: 2, opacity: 0.95, dashArray: "4 3", fill: false }; },
      pointStyle: function () { return { color: "#ffffff", weight: 2, opacity: 0.95, fill: false }; },
    });
    selection = new ChipLayer({
      map: map,
      pane: "tf-selection", radius: 11, shapePixels: 10,
      shapeStyle: function () { return { color: "#00e5ff", weight: 3.5, opacity: 1, fill: false }; },
      pointStyle: function () { return { color: "#00e5ff", weight: 3, opacity: 1, fill: false }; },
    });
    regionLayer = L.geoJSON(null, {
      pane: "tf-region", interactive: false,
      style: function () { return { color: "#ff851b", weight: 2.5, dashArray: "8 6", fill: false }; },
    });
    [footprints, examples, results, hover, selection].forEach(function (l) { l.container.addTo(map); });
    legend = makeLegend();
    legend.addTo(map);
    legend.show(null);
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
      const modifier = modifierOf(e.originalEvent);
      const it = modifier || !map.hasLayer(results.container) ? null : results.pick(e.latlng);
      if (it) { openResult(it, e.latlng); return; }
      send("mapClicked", e.latlng.lat, e.latlng.lng, modifier); // lat/lng: Python swaps
    });
    let hoverAt = null;
    map.on("mousemove", function (e) {
      if (hoverAt === null) window.requestAnimationFrame(function () {
        const it = drawing || !map.hasLayer(results.container) ? null : results.pick(hoverAt);
        hoverAt = null;
        const row = it ? it.row : null;
        if (row !== hover.row) {
          hover.row = row;
          hover.set(it ? { type: "FeatureCollection", features: [it.feature] } : null);
        }
        map.getContainer().style.cursor = it ? "pointer" : "";
      });
      hoverAt = e.latlng;
    });
    map.on("zoomend", function () { footprints.update(); examples.update(); results.update(); hover.update(); selection.update(); });
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
  // Big layers arrive as URLs the page fetches (gui/map_view.py): a multi-megabyte script would be copied
  // on Python's GUI thread. A load's fetch starts at once, but loads are applied in the order Python asked,
  // and every TF.call made while one is pending waits behind it, so "set results, then select row 7"
  // keeps its meaning and a later load always wins over an earlier, slower one.
  let chain = Promise.resolve();
  let pending = 0;
  const latestUrl = {};
  // Layers are strict JSON (Python writes them with allow_nan=False): never evaluated as script, which the
  // page's Content-Security-Policy forbids anyway. A layer that does not parse is dropped with a message.
  function parseLayer(text) {
    return JSON.parse(text);
  }
  TF.call = function (name, args) {
    if (!pending) return TF[name].apply(null, args);
    chain = chain.then(function () { TF[name].apply(null, args); })
      .catch(function (err) { console.error(name + ": " + err); });
    return null;
  };
  TF.load = function (name, url) {
    latestUrl[name] = url;
    const data = fetch(url).then(function (r) {
      if (!r.ok) throw new Error(url + " " + r.status);
      return r.text();
    });
    data.catch(function () {}); // handled in the chain below, maybe later: not an "uncaught" rejection
    pending += 1;
    chain = chain.then(function () { return data; })
      .then(function (text) { TF[name](parseLayer(text)); })
      // a superseded payload is removed by Python and may 404: the newer load, queued behind, wins anyway
      .catch(function (err) { if (latestUrl[name] === url) console.error(name + ": " + err); })
      .then(function () { pending -= 1; });
    return null;
  };
  TF.pendingLoads = function () { return pending; }; // MapView.eval_json waits for 0
  TF.setFootprints = function (fc) { footprints.set(fc); };
  // A big region's chips as PNG tiles (core/present/coverage.py) in the "Chip footprints" layer instead of
  // one outline each: opts {url, bounds: [w, s, e, n]} or null to remove.
  let coverage = null, coverageTiles = 0;
  TF.setCoverage = function (opts) {
    if (coverage) footprints.container.removeLayer(coverage);
    coverage = null;
    coverageTiles = 0;
    if (!opts) return;
    coverage = L.tileLayer(opts.url, {
      pane: "tf-footprints", minZoom: 0, maxZoom: 19, maxNativeZoom: 19, keepBuffer: 1,
      bounds: opts.bounds ? toBounds(opts.bounds) : undefined,
    });
    coverage.on("tileload", function () { coverageTiles += 1; });
    footprints.container.addLayer(coverage);
  };
  TF.setExamples = function (fc) { examples.set(fc); };
  TF.setResults = function (fc) {
    map.closePopup(popup);
    popupRow = null;
    hover.row = null;
    hover.set(null);
    lastResults = fc;
    TFChips.setLossLegend(fc && fc.loss_legend);
    results.set(fc);
    legend.show(results.items.length ? results.scale : null);
    if (selectedRow != null && !results.byRow.has(selectedRow)) TF.select(null);
  };
  TF.setThreshold = function (t) {
    results.setThreshold(Number(t));
  };
  // Hide hits whose loss (Clay v1) lies outside [lo, hi]; null bounds are open, both null: no filter.
  TF.setLossRange = function (lo, hi) {
    results.setLossRange([lo == null ? null : Number(lo), hi == null ? null : Number(hi)]);
  };
  // Colour hits by "loss" (when the results carry it) or "auto" (probability after Refine, else share).
  TF.setColourBy = function (by) {
    colourBy = by === "loss" ? "loss" : "auto";
    if (!lastResults) return;
    const keep = selectedRow;
    const threshold = results.threshold, range = results.lossRange;
    results.set(lastResults);
    results.threshold = threshold;
    results.setLossRange(range);
    legend.show(results.items.length ? results.scale : null);
    if (keep != null) TF.select(keep, { pan: false });
  };
  // Sites (merged touching hits, gui/sites_flow.py): outlines above the results that never take a click
  // (the results' canvas must stay clickable), with a rank label at each site's centre.
  let sitesLayer = null;
  TF.setSites = function (fc) {
    if (!sitesLayer) {
      makePane("tf-sites", 435, false);
      sitesLayer = L.geoJSON(null, {
        pane: "tf-sites", interactive: false,
        style: function () { return { color: "#e6007e", weight: 2.5, opacity: 0.95, fillColor: "#e6007e", fillOpacity: 0.08 }; },
      });
      sitesLayer.addTo(map);
      layerControl.addOverlay(sitesLayer, "Sites");
    }
    sitesLayer.clearLayers();
    ((fc && fc.features) || []).forEach(function (f, i) {
      const layer = L.GeoJSON.geometryToLayer(f, { pane: "tf-sites", interactive: false });
      layer.setStyle(sitesLayer.options.style(f));
      const p = f.properties || {};
      // Labels are DOM nodes and cover the map: only the best 50 sites of two or more chips get one
      // (hundreds of one-chip "sites" hid everything under their labels).
      if (i < 50 && Number(p.chip_count || 1) >= 2 && typeof p.lat === "number") {
        layer.bindTooltip("S" + (p.rank != null ? Number(p.rank) : i + 1), {
          permanent: true, direction: "center", className: "tf-site-label", interactive: false,
        });
      }
      sitesLayer.addLayer(layer);
    });
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
  TF.popupRow = function () { return map.hasLayer(popup) ? popupRow : null; };
  // A thumbnail was cut since the popup opened: show it (a new URL, so the browser asks again).
  TF.thumbnailReady = function (row) {
    thumbVersion += 1;
    const img = map.hasLayer(popup) && popup.getElement() ? popup.getElement().querySelector("img.tf-thumb") : null;
    if (img && img.dataset.row === String(row)) img.src = "/thumb/" + row + ".png?v=" + thumbVersion;
  };
  TF.colourOf = function (row) { const it = results.byRow.get(row); return it ? classColour(results.scale, it) : null; };
  TF.pick = function (lon, lat) { const it = results.pick(L.latLng(lat, lon)); return it ? Number(it.row) : null; };
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
  // The area a question is about (File > Prepare for offline use): dashed purple, gone when answered.
  let outlineLayer = null;
  TF.setOutline = function (geometry) {
    if (!outlineLayer) {
      outlineLayer = L.geoJSON(null, {
        pane: "tf-region", interactive: false,
        style: function () { return { color: "#7e03a8", weight: 3, dashArray: "10 6", fillColor: "#7e03a8", fillOpacity: 0.08 }; },
      }).addTo(map);
    }
    outlineLayer.clearLayers();
    if (geometry) {
      outlineLayer.addData({ type: "Feature", properties: {}, geometry: geometry });
      map.fitBounds(outlineLayer.getBounds(), { padding: [40, 40] });
    }
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

  TF.styles = function () { return { footprints: footprints.opts.shapeStyle() }; };
  TF.counts = function () {
    return {
      results: results.visibleCount(),
      results_total: results.items.length,
      sites: sitesLayer ? sitesLayer.getLayers().length : 0,
      site_labels: sitesLayer ? sitesLayer.getLayers().filter(function (l) { return !!l.getTooltip(); }).length : 0,
      outline: outlineLayer ? outlineLayer.getLayers().length : 0,
      examples: examples.items.length,
      footprints: footprints.items.length,
      footprints_drawn: footprints.mode === "shapes" ? footprints.shapes.getLayers().length : 0,
      coverage: coverage ? 1 : 0,
      coverage_tiles: coverageTiles,
      selected: selectedRow,
      results_mode: results.mode,
      results_scale: results.scale || null,
      legend: legend.getContainer() && legend.getContainer().style.display !== "none" ? legend.getContainer().textContent : "",
      popup_row: TF.popupRow(),
      base: currentBase(),
      basemap_loaded: TF.basemapLoaded || 0,
    };
  };
})();
