// A line (or scatter) chart drawn as SVG, so its labels stay selectable text and it prints
// as vectors. Series may be decimated: each point then stands for a bucket of steps, drawn
// as its mean with a band from its minimum to its maximum. Hovering names the nearest
// point of every series in the readout under the chart; dragging across the chart zooms
// into that step range, double-clicking zooms out. Marks (spans of steps) show where a
// series held NaN or infinite values; a band (e.g. healthy alpha 2–6) can be shaded.
import { el, svg, clear, pointer } from "./dom.js";
import { fmt, fmtRange, fmtStep } from "./numbers.js";
import { scale, niceTicks, logTicks, extent, nearest } from "./scale.js";
import { color, dashOf, MARK_COLORS } from "./colors.js";

const HEIGHT = 250;
const M = { left: 62, right: 14, top: 10, bottom: 34 };

export class LineChart {
  constructor(root, spec, id) {
    this.spec = spec;
    this.id = id;
    this.log = Boolean(spec.log_y);
    this.zoom = null;
    this.scatter = spec.series.length > 0 && spec.series.every((s) => s.line === false);
    this.title = el("span", { class: "ts-chart-title", text: spec.title || "" });
    this.buttons = el("span", { class: "ts-chart-tools" });
    if (spec.toggle_log) {
      this.logButton = el("button", { type: "button", title: "Switch the y axis between linear and log", onclick: () => { this.log = !this.log; this.draw(); } });
      this.buttons.append(this.logButton);
    }
    this.resetButton = el("button", { type: "button", hidden: true, text: "zoom out", onclick: () => this.setZoom(null) });
    this.buttons.append(this.resetButton);
    this.plot = el("div", { class: "ts-plot" });
    this.legend = el("div", { class: "ts-legend-line" });
    this.readout = el("div", { class: "ts-readout", "aria-live": "polite" });
    root.append(el("div", { class: "ts-chart-head" }, this.title, this.buttons), this.plot, this.legend, this.readout);
    this.drawLegend();
    this.draw();
  }

  drawLegend() {
    for (const s of this.spec.series) {
      const sw = svg("svg", { width: 26, height: 10, class: "ts-swatch" },
        s.line === false
          ? svg("circle", { cx: 13, cy: 5, r: 3.5, fill: color(s.color) })
          : svg("line", { x1: 1, y1: 5, x2: 25, y2: 5, stroke: color(s.color), "stroke-width": 2, "stroke-dasharray": dashOf(s.dash) }));
      this.legend.append(el("span", { class: "ts-legend-item" }, sw, el("span", { text: s.name })));
    }
    if (this.spec.band) this.legend.append(el("span", { class: "ts-legend-item ts-band-key", text: this.spec.band_label || "band" }));
  }

  setZoom(range) {
    this.zoom = range;
    this.resetButton.hidden = range === null;
    this.draw();
  }

  xDomain() {
    if (this.zoom) return this.zoom;
    let lo = Infinity, hi = -Infinity;
    for (const s of this.spec.series) {
      if (!s.x.length) continue;
      lo = Math.min(lo, s.x[0]);
      hi = Math.max(hi, (s.x2 || s.x)[s.x.length - 1]);
    }
    for (const m of this.spec.marks || []) { lo = Math.min(lo, m.x); hi = Math.max(hi, m.x2); }
    if (lo === Infinity) return [0, 1];
    if (lo === hi) return [lo - 1, hi + 1];
    // a little room at both ends, so points on the first and last step stay whole
    const pad = this.scatter ? Math.max(0.5, (hi - lo) * 0.03) : (hi - lo) * 0.015;
    return [lo - pad, hi + pad];
  }

  yDomain([x0, x1]) {
    const values = [];
    for (const s of this.spec.series) {
      for (let i = 0; i < s.x.length; i++) {
        if (s.x[i] < x0 || s.x[i] > x1) continue;
        values.push(s.y[i]);
        if (s.lo) values.push(s.lo[i], s.hi[i]);
      }
    }
    if (this.spec.band && this.scatter) values.push(...this.spec.band);
    return extent(values, this.log);
  }

  draw() {
    if (this.logButton) this.logButton.textContent = this.log ? "linear y" : "log y";
    const W = Math.max(320, Math.floor(this.plot.clientWidth || 600));
    const H = HEIGHT;
    const xd = this.xDomain(), yd = this.yDomain(xd);
    const X = scale(xd[0], xd[1], M.left, W - M.right);
    const Y = scale(yd[0], yd[1], H - M.bottom, M.top, this.log);
    this.X = X; this.Y = Y; this.W = W;
    const root = svg("svg", { class: "ts-svg-chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": this.spec.title || "chart" });
    const clipId = `${this.id}-clip`;
    root.append(svg("clipPath", { id: clipId }, svg("rect", { x: M.left, y: M.top, width: W - M.left - M.right, height: H - M.top - M.bottom })));
    root.append(this.axes(X, Y, xd, yd, W, H));
    const body = svg("g", { "clip-path": `url(#${clipId})` });
    if (this.spec.band) {
      const [b0, b1] = this.spec.band;
      const top = Y(Math.min(b1, yd[1])), bottom = Y(Math.max(b0, yd[0]));
      if (bottom > top) body.append(svg("rect", { class: "ts-band", x: M.left, y: top, width: W - M.left - M.right, height: bottom - top }));
    }
    for (const m of this.spec.marks || []) {
      const a = X(m.x), b = Math.max(X(m.x2), a + 2);
      body.append(svg("rect", { x: a - 1, y: M.top, width: b - a + 2, height: H - M.top - M.bottom, fill: MARK_COLORS[m.kind] || MARK_COLORS.nonfinite, "fill-opacity": 0.18 }, svg("title", { text: m.text })));
    }
    for (const s of this.spec.series) body.append(this.seriesGroup(s, X, Y));
    root.append(body);
    this.guide = svg("g", { class: "ts-guide" });
    this.selection = svg("rect", { class: "ts-selection", y: M.top, height: H - M.top - M.bottom, width: 0, visibility: "hidden" });
    root.append(this.guide, this.selection);
    const overlay = svg("rect", { class: "ts-overlay", x: M.left, y: M.top, width: W - M.left - M.right, height: H - M.top - M.bottom });
    this.bindPointer(overlay);
    root.append(overlay);
    clear(this.plot);
    this.plot.append(root);
  }

  axes(X, Y, xd, yd, W, H) {
    const g = svg("g", { class: "ts-axes" });
    const yt = this.log ? logTicks(yd[0], yd[1]) : niceTicks(yd[0], yd[1], 5);
    for (const v of yt) {
      const y = Y(v);
      g.append(svg("line", { class: "ts-grid", x1: M.left, x2: W - M.right, y1: y, y2: y }));
      g.append(svg("text", { x: M.left - 6, y: y + 4, "text-anchor": "end", text: fmt(v) }));
    }
    let xt = niceTicks(xd[0], xd[1], Math.max(2, Math.floor((W - M.left) / 90)));
    if (this.spec.x_int) xt = xt.filter((v) => Number.isInteger(v));
    for (const v of xt) {
      const x = X(v);
      g.append(svg("line", { class: "ts-tick", x1: x, x2: x, y1: H - M.bottom, y2: H - M.bottom + 4 }));
      g.append(svg("text", { x, y: H - M.bottom + 16, "text-anchor": "middle", text: this.spec.x_int ? fmtStep(v) : fmt(v) }));
    }
    g.append(svg("line", { class: "ts-axis", x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom }));
    g.append(svg("line", { class: "ts-axis", x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom }));
    if (this.spec.x_label) g.append(svg("text", { class: "ts-axis-label", x: (M.left + W - M.right) / 2, y: H - 4, "text-anchor": "middle", text: this.spec.x_label }));
    return g;
  }

  seriesGroup(s, X, Y) {
    const c = color(s.color);
    const g = svg("g", {});
    const ok = (v) => v !== null && v !== undefined && (!this.log || v > 0);
    if (s.lo) {
      let d = "";
      for (const run of runs(s.x.length, (i) => ok(s.lo[i]) && ok(s.hi[i]))) {
        const up = run.map((i) => `${X(s.x[i]).toFixed(1)},${Y(s.hi[i]).toFixed(1)}`);
        const down = run.slice().reverse().map((i) => `${X(s.x[i]).toFixed(1)},${Y(s.lo[i]).toFixed(1)}`);
        d += `M${up.join("L")}L${down.join("L")}Z`;
      }
      if (d) g.append(svg("path", { d, fill: c, "fill-opacity": 0.18, stroke: "none" }));
    }
    if (s.line !== false) {
      let d = "";
      for (const run of runs(s.x.length, (i) => ok(s.y[i]))) {
        d += "M" + run.map((i) => `${X(s.x[i]).toFixed(1)},${Y(s.y[i]).toFixed(1)}`).join("L");
      }
      g.append(svg("path", { d, fill: "none", stroke: c, "stroke-width": 1.6, "stroke-dasharray": dashOf(s.dash), "stroke-linejoin": "round" }));
    }
    if (s.points) {
      for (let i = 0; i < s.x.length; i++) {
        if (ok(s.y[i])) g.append(svg("circle", { cx: X(s.x[i]).toFixed(1), cy: Y(s.y[i]).toFixed(1), r: s.line === false ? 3.2 : 2.4, fill: c }));
      }
    }
    return g;
  }

  bindPointer(overlay) {
    let start = null;
    overlay.addEventListener("mousemove", (e) => {
      const [px, py] = pointer(e, this.plot.firstChild);
      if (start !== null) {
        const a = Math.min(start, px), b = Math.max(start, px);
        this.selection.setAttribute("x", a);
        this.selection.setAttribute("width", b - a);
        this.selection.setAttribute("visibility", "visible");
      }
      this.hover(px, py);
    });
    overlay.addEventListener("mouseleave", () => { clear(this.guide); start = null; this.selection.setAttribute("visibility", "hidden"); });
    overlay.addEventListener("mousedown", (e) => { start = pointer(e, this.plot.firstChild)[0]; e.preventDefault(); });
    overlay.addEventListener("mouseup", (e) => {
      const end = pointer(e, this.plot.firstChild)[0];
      this.selection.setAttribute("visibility", "hidden");
      if (start !== null && Math.abs(end - start) > 5) {
        const a = this.X.invert(Math.min(start, end)), b = this.X.invert(Math.max(start, end));
        start = null;
        this.setZoom([a, b]);
        return;
      }
      start = null;
    });
    overlay.addEventListener("dblclick", () => this.setZoom(null));
  }

  hover(px, py) {
    clear(this.guide);
    clear(this.readout);
    const hits = this.scatter ? this.nearestPoint(px, py) : this.nearestPerSeries(this.X.invert(px));
    if (!hits.length) return;
    if (!this.scatter) {
      const x = this.X(hits[0].s.x[hits[0].i]);
      this.guide.append(svg("line", { x1: x, x2: x, y1: M.top, y2: HEIGHT - M.bottom, class: "ts-guide-line" }));
    }
    for (const { s, i } of hits) {
      const y = s.y[i];
      if (y !== null && (!this.log || y > 0)) this.guide.append(svg("circle", { cx: this.X(s.x[i]), cy: this.Y(y), r: 4.5, fill: "none", stroke: color(s.color), "stroke-width": 2 }));
      this.readout.append(el("span", { class: "ts-read" }, el("i", { class: "ts-dot", style: `background:${color(s.color)}` }), this.describe(s, i)));
    }
  }

  describe(s, i) {
    if (s.labels) return `${s.labels[i]}: ${this.spec.y_label || "value"} ${fmt(s.y[i])}`;
    const where = s.x2 ? fmtRange(s.x[i], s.x2[i]) : `${this.spec.x_label || "x"} ${this.spec.x_int ? fmtStep(s.x[i]) : fmt(s.x[i])}`;
    let text = `${s.name}, ${where}: ${fmt(s.y[i])}`;
    if (s.n && s.n[i] > 1) text += ` (mean of ${fmtStep(s.n[i])} points, min ${fmt(s.lo[i])}, max ${fmt(s.hi[i])})`;
    return text;
  }

  nearestPerSeries(xv) {
    const out = [];
    for (const s of this.spec.series) {
      const i = nearest(s.x, xv);
      if (i >= 0) out.push({ s, i });
    }
    return out;
  }

  nearestPoint(px, py) {
    let best = null, dist = 400; // within 20 px
    for (const s of this.spec.series) {
      for (let i = 0; i < s.x.length; i++) {
        if (s.y[i] === null || (this.log && s.y[i] <= 0)) continue;
        const d = (this.X(s.x[i]) - px) ** 2 + (this.Y(s.y[i]) - py) ** 2;
        if (d < dist) { dist = d; best = { s, i }; }
      }
    }
    return best ? [best] : [];
  }
}

// Runs of consecutive indices where keep(i) holds: each a list of indices.
export function runs(n, keep) {
  const out = [];
  let cur = [];
  for (let i = 0; i < n; i++) {
    if (keep(i)) cur.push(i);
    else if (cur.length) { out.push(cur); cur = []; }
  }
  if (cur.length) out.push(cur);
  return out;
}
