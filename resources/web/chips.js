/* Terrafind map page: ChipLayer, the one way chips (results, examples, footprints, selection) are drawn.
 *
 * Canvas circle markers while a chip is only a few pixels wide, its footprint polygon once it is big
 * enough to see. Features are made once per set() call; the threshold and the zoom only move existing
 * features in and out of groups, so 5,000 results filter live without being rebuilt.
 */
(function () {
  "use strict";

  // --- colour by score: blue (weak) through grey to yellow (strong), a cividis-like ramp. It has no
  // green and no red, which belong to the user's positive and negative examples, and it reads the same
  // for colour-blind eyes; readable on imagery and on the pale land ------------------------------------
  const RAMP = [[38, 62, 150], [84, 104, 160], [140, 140, 140], [205, 188, 96], [255, 234, 50]];
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
    this.opts = opts;
    this.map = opts.map; // {pane, style(item)->path options, radius, interactive, minPixels, onClick, shapesAt, points}
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
        // After Refine the threshold (and colour) follow the classifier's probability (gui/visible.py).
        score: typeof p.probability === "number" ? p.probability : (typeof p.score === "number" ? p.score : null),
        point: null, shape: null, visible: true,
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


  window.TFChips = { ChipLayer: ChipLayer, rampColour: rampColour, toBounds: toBounds };
})();
