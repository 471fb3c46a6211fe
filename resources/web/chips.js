/* Terrafind map page: ChipLayer, the one way chips (results, examples, footprints, selection) are drawn.
 *
 * Canvas circle markers while a chip is only a few pixels wide, its footprint polygon once it is big
 * enough to see. Features are made once per set() call; the threshold and the zoom only move existing
 * features in and out of groups, so 5,000 results filter live without being rebuilt.
 */
(function () {
  "use strict";

  // --- colour by where a hit stands in its region (core/search/percentiles.py): a few classes a person
  // can read off the legend. Yellow (best) through orange and magenta to dark purple, then grey: no blue
  // (it reads as water), no green or red (those are the examples' colours) ---------------------------
  const CLASSES = {
    top: {
      title: "Share of this region scoring as high",
      classes: [
        { below: 0.001, label: "top 0.1 %", colour: "#fde725" },
        { below: 0.01, label: "top 1 %", colour: "#f89540" },
        { below: 0.1, label: "top 10 %", colour: "#cc4778" },
        { below: 0.5, label: "top 50 %", colour: "#7e03a8" },
        { below: Infinity, label: "lower", colour: "#9a9a9a" },
      ],
    },
    // After Refine: the classifier's probability, a 0..1 scale of its own
    probability: {
      title: "Probability (Refine)",
      classes: [
        { atLeast: 0.9, label: "0.9 or more", colour: "#fde725" },
        { atLeast: 0.7, label: "0.7 - 0.9", colour: "#f89540" },
        { atLeast: 0.5, label: "0.5 - 0.7", colour: "#cc4778" },
        { atLeast: 0.25, label: "0.25 - 0.5", colour: "#7e03a8" },
        { atLeast: -Infinity, label: "below 0.25", colour: "#9a9a9a" },
      ],
    },
  };
  // The loss of the Clay v1 layout (core/read/v1.py): its classes come with the results (fc.loss_legend,
  // breaks at the region's own loss percentiles) and each hit names its class (props.loss_class).
  function setLossLegend(legend) {
    if (legend && Array.isArray(legend.classes)) CLASSES.loss = legend;
    else delete CLASSES.loss;
  }
  // The scale a layer of hits is coloured by: the probability after Refine, else the share of the region.
  function scaleOf(items) {
    for (let i = 0; i < items.length; i++) if (typeof items[i].props.probability === "number") return "probability";
    for (let i = 0; i < items.length; i++) if (typeof items[i].props.top === "number") return "top";
    return null;
  }
  function classColour(scale, it) {
    const table = CLASSES[scale];
    if (!table) return CLASSES.top.classes[0].colour;
    const p = it.props;
    if (scale === "loss") {
      const c = table.classes[p.loss_class];
      return c ? c.colour : "#d9d9d9"; // a chip without a loss value
    }
    for (let i = 0; i < table.classes.length; i++) {
      const c = table.classes[i];
      if (scale === "top" ? p.top <= c.below : p.probability >= c.atLeast) return c.colour;
    }
    return table.classes[table.classes.length - 1].colour;
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
    this.opts = opts;
    this.map = opts.map; // {pane, style(item)->path options, radius, interactive, minPixels, onClick, shapesAt, points}
    this.items = [];
    this.byRow = new Map();
    this.renderer = L.canvas({ pane: opts.pane, padding: 0.3 });
    this.points = L.layerGroup();
    this.shapes = L.layerGroup();
    this.container = L.layerGroup(); // what the layer switcher shows/hides
    this.threshold = -Infinity;
    this.lossRange = null; // [min or null, max or null]: hits whose loss lies outside are hidden
    this.chipDeg = 0;
    this.mode = "none";
  }
  ChipLayer.prototype.set = function (fc) {
    this.points.clearLayers();
    this.shapes.clearLayers();
    this.items = [];
    this.byRow = new Map();
    // Spacing of the chips' centres (core Catalog.stride): a hit is drawn as the cell of this size around
    // its centre, so half-overlapping chips never cover each other (opts.cells).
    this.stride = fc && Array.isArray(fc.stride) ? fc.stride : null;
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
        // After Refine the threshold (and colour) follow the classifier's probability (gui/visible.py).
        score: typeof p.probability === "number" ? p.probability : (typeof p.score === "number" ? p.score : null),
        point: null, shape: null, visible: true,
      };
      if (!isPoint) widths.push(bbox[2] - bbox[0]);
      this.items.push(item);
      if (p.row != null && !this.byRow.has(p.row)) this.byRow.set(p.row, item);
    }
    this.chipDeg = median(widths);
    for (let i = 0; i < this.items.length; i++) this.items[i].cell = this._cellOf(this.items[i]);
    if (this.opts.prepare) this.opts.prepare(this);
    if (this.opts.points !== false) {
      // Added worst first: on the canvas the last drawn is on top, so where markers overlap the best
      // ranked one is seen (and picked: see pick()).
      for (let i = this.items.length - 1; i >= 0; i--) {
        const it = this.items[i];
        it.point = this._makePoint(it);
        it.visible = this._passes(it);
        if (it.visible) this.points.addLayer(it.point);
      }
    }
    this.mode = "none";
    this.update();
  };
  // The centre cell of a chip: its bbox shrunk around the centre to the stride (the whole bbox without one).
  ChipLayer.prototype._cellOf = function (it) {
    const b = it.bbox;
    if (!this.opts.cells || it.isPoint || !this.stride) return b;
    const cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
    const hx = Math.min(b[2] - b[0], this.stride[0] || Infinity) / 2;
    const hy = Math.min(b[3] - b[1], this.stride[1] || Infinity) / 2;
    return [cx - hx, cy - hy, cx + hx, cy + hy];
  };
  // The visible item a click at `latlng` means: the one whose drawn cell holds the point (the chip whose
  // centre is nearest, the rule core's Catalog.chip_at uses for examples); as markers, the nearest marker
  // within its radius (+3 px). null when no hit is drawn there.
  ChipLayer.prototype.pick = function (latlng) {
    const lat = latlng.lat, lng = latlng.lng;
    let best = null, bestD = Infinity;
    if (this.mode === "shapes") {
      for (let i = 0; i < this.items.length; i++) {
        const it = this.items[i], c = it.cell;
        if (!it.visible || lng < c[0] || lng > c[2] || lat < c[1] || lat > c[3]) continue;
        const dx = lng - (c[0] + c[2]) / 2, dy = lat - (c[1] + c[3]) / 2, d = dx * dx + dy * dy;
        if (d < bestD) { best = it; bestD = d; }
      }
      return best;
    }
    if (this.mode !== "points") return null;
    const map = this.map, at = map.latLngToContainerPoint(latlng);
    const reach = (this.opts.radius || 5) + 3;
    for (let i = 0; i < this.items.length; i++) {
      const it = this.items[i];
      if (!it.visible) continue;
      const b = it.bbox, p = map.latLngToContainerPoint([(b[1] + b[3]) / 2, (b[0] + b[2]) / 2]);
      const d = (p.x - at.x) * (p.x - at.x) + (p.y - at.y) * (p.y - at.y);
      if (d <= reach * reach && (d < bestD || (d === bestD && best && it.props.rank < best.props.rank))) {
        best = it; bestD = d;
      }
    }
    return best;
  };
  ChipLayer.prototype._passes = function (it) {
    if (!(it.score == null || it.score >= this.threshold)) return false;
    const r = this.lossRange;
    if (!r) return true;
    const loss = it.props.loss;
    if (typeof loss !== "number") return false; // the same rule as core (session_lines.loss_keep)
    return (r[0] == null || loss >= r[0]) && (r[1] == null || loss <= r[1]);
  };
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
    if (this.opts.cells && it.cell !== it.bbox) {
      const rect = L.rectangle(toBounds(it.cell), { renderer: this.renderer, pane: this.opts.pane,
        interactive: !!this.opts.interactive, bubblingMouseEvents: !this.opts.interactive });
      rect.setStyle(this.opts.shapeStyle(it));
      this._wire(rect, it);
      return rect;
    }
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
    if (!this.chipDeg) return false;
    return chipPixels(this.chipDeg, this.map.getZoom()) >= (this.opts.shapePixels || 10);
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
    const vb = this.map.getBounds().pad(0.25);
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
    this.refilter();
  };
  ChipLayer.prototype.setLossRange = function (range) {
    this.lossRange = range && (range[0] != null || range[1] != null) ? range : null;
    this.refilter();
  };
  ChipLayer.prototype.refilter = function () {
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


  window.TFChips = {
    ChipLayer: ChipLayer, CLASSES: CLASSES, scaleOf: scaleOf, classColour: classColour, toBounds: toBounds,
    setLossLegend: setLossLegend,
  };
})();
