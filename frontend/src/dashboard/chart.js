// One chart: a metric of every selected run (each split, each resumed segment) drawn with
// uPlot. The line goes through each bucket's last value; every bucket holding more than
// one point also gets a vertical min–max stroke, so a single spike among a million points
// stays visible; NaN and ±inf are marked where they occur (× at the bottom, ▲/▼ at the
// edges). Zooming asks the server for the visible range at full resolution.
import uPlot from "uplot";
import { align } from "./series.js";
import { el, clear, download, safeFileName } from "./dom.js";
import { withAlpha } from "./colors.js";
import { fmtInt, fmtTick, fmtValue } from "./numbers.js";
import { chartSVG } from "./svg.js";

const HEIGHT = 240;
const SPLIT_DASH = { train: [], val: [7, 4], validation: [7, 4], test: [2, 3], eval: [7, 4] };
const MARK = "#d9480f";

export class Chart {
  constructor(metric, ctx) {
    this.metric = metric;
    this.ctx = ctx; // { runName(id), color(id), onZoom(lo, hi), csv(run, split) }
    this.series = [];
    this.opts = {};
    this.u = null;
    this.structure = "";
    this.el = el("section", { class: "ts-chart", dataset: { testid: "chart", metric } });
    this.title = el("h3", { class: "ts-chart-title", text: metric });
    this.count = el("span", { class: "ts-count", dataset: { testid: "chart-count" } });
    this.marks = el("span", { class: "ts-marks" });
    this.menu = el("span", { class: "ts-chart-menu" },
      el("button", { type: "button", title: "Download this chart as PNG", onclick: () => this.exportPNG() }, "PNG"),
      el("button", { type: "button", title: "Download this chart as SVG", onclick: () => this.exportSVG() }, "SVG"),
      el("button", { type: "button", title: "Raw points of each series as CSV", onclick: () => this.toggleCSV() }, "CSV"));
    this.csvList = el("div", { class: "ts-csv", hidden: true });
    this.plot = el("div", { class: "ts-plot" });
    this.readout = el("div", { class: "ts-readout" });
    this.el.append(el("header", {}, this.title, this.count, this.marks, this.menu), this.csvList, this.plot, this.readout);
  }

  get width() {
    return Math.max(200, Math.floor(this.el.clientWidth || 600) - 2);
  }

  // All of the chart's series (SeriesData), and how to draw them.
  setSeries(series, opts) {
    this.series = series;
    this.opts = opts; // { axis, log, smooth, lo, hi }
    this.redraw();
  }

  columns() {
    const cols = [];
    const smooth = this.opts.smooth > 0;
    for (const s of this.series) {
      s.segments.forEach((seg, k) => {
        const y = this.opts.log ? seg.last.map((v) => (v !== null && v <= 0 ? null : v)) : seg.last;
        cols.push({ s, k, seg, kind: "last", x: seg.x, y });
        if (smooth && seg.smooth) cols.push({ s, k, seg, kind: "smooth", x: seg.x, y: seg.smooth });
      });
    }
    return cols;
  }

  redraw() {
    const cols = this.columns();
    this.cols = cols;
    const { xs, ys } = align(cols);
    const structure = JSON.stringify([cols.map((c) => [c.s.run, c.s.split, c.k, c.kind]), this.opts.axis, this.opts.log, this.opts.smooth > 0]);
    const data = [xs, ...ys];
    if (!this.u || structure !== this.structure) {
      if (this.u) this.u.destroy();
      clear(this.plot);
      this.structure = structure;
      this.u = new uPlot(this.options(cols), data, this.plot);
    } else {
      this.u.setData(data, false);
    }
    const [lo, hi] = this.xRange(xs);
    if (lo !== null) this.u.setScale("x", { min: lo, max: hi });
    this.updateCounts();
  }

  xRange(xs) {
    if (this.opts.lo !== null && this.opts.lo !== undefined) return [this.opts.lo, this.opts.hi];
    if (!xs.length) return [null, null];
    const lo = xs[0], hi = xs[xs.length - 1];
    return lo === hi ? [lo - 1, hi + 1] : [lo, hi];
  }

  options(cols) {
    const axis = this.opts.axis;
    const smooth = this.opts.smooth > 0;
    const series = [{ label: axis }];
    for (const c of cols) {
      const color = this.ctx.color(c.s.run);
      const faint = smooth && c.kind === "last";
      series.push({
        label: `${this.ctx.runName(c.s.run)} ${c.s.split}${c.k ? ` (resumed ${c.k})` : ""}${c.kind === "smooth" ? " smoothed" : ""}`,
        stroke: faint ? withAlpha(color, 0.3) : color,
        width: c.kind === "smooth" ? 1.8 : faint ? 1 : 1.4,
        dash: SPLIT_DASH[c.s.split] ?? [10, 3, 2, 3],
        spanGaps: false,
        points: { show: false },
      });
    }
    return {
      width: this.width,
      height: HEIGHT,
      series,
      legend: { show: false },
      scales: {
        x: { time: axis === "wall", auto: false },
        y: { distr: this.opts.log ? 3 : 1, range: (u) => this.yRange(u) },
      },
      axes: [
        { stroke: "#52606d", grid: { stroke: "#eef1f4" }, ticks: { stroke: "#d9dee4" } },
        { stroke: "#52606d", size: 64, grid: { stroke: "#eef1f4" }, ticks: { stroke: "#d9dee4" },
          values: (u, vals) => vals.map((v) => fmtTick(v)) },
      ],
      cursor: {
        sync: { key: "ts-x", setSeries: false },
        drag: { x: true, y: false, setScale: false },
        points: { show: false },
        bind: { dblclick: () => null },
      },
      hooks: {
        draw: [(u) => this.drawExtras(u)],
        setCursor: [(u) => this.showReadout(u)],
        setSelect: [(u) => this.zoomed(u)],
        ready: [(u) => u.over.addEventListener("dblclick", () => this.ctx.onZoom(null, null))],
      },
    };
  }

  // y range: every min and max in the visible x range (so spikes are never clipped).
  yRange(u) {
    const x0 = u.scales.x.min, x1 = u.scales.x.max;
    let lo = Infinity, hi = -Infinity;
    const log = this.opts.log;
    for (const c of this.cols || []) {
      const { x, min, max } = c.seg;
      const ys = c.kind === "smooth" ? [c.y, c.y] : [min, max];
      for (let i = 0; i < x.length; i++) {
        if (x0 !== null && x0 !== undefined && (x[i] < x0 || x[i] > x1)) continue;
        for (const v of [ys[0][i], ys[1][i]]) {
          if (v === null || v === undefined || (log && v <= 0)) continue;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
    }
    if (!Number.isFinite(lo)) return log ? [0.1, 10] : [0, 1];
    if (log) return uPlot.rangeLog(lo, hi, 10, true);
    if (lo === hi) return [lo - (Math.abs(lo) || 1) * 0.1, hi + (Math.abs(hi) || 1) * 0.1];
    const pad = (hi - lo) * 0.05;
    return [lo - pad, hi + pad];
  }

  // Min–max strokes of buckets holding several points, and marks of NaN/±inf.
  drawExtras(u) {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.setLineDash([]);
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    const px = (v) => Math.round(u.valToPos(v, "x", true)) + 0.5;
    const py = (v) => u.valToPos(v, "y", true);
    const log = this.opts.log;
    for (const c of this.cols || []) {
      if (c.kind !== "last") continue;
      const { x, min, max, cnt } = c.seg;
      ctx.strokeStyle = withAlpha(this.ctx.color(c.s.run), this.opts.smooth > 0 ? 0.25 : 0.55);
      ctx.lineWidth = devicePixelRatio || 1;
      ctx.beginPath();
      for (let i = 0; i < x.length; i++) {
        if (cnt[i] < 2 || min[i] === null || max[i] === null || (log && min[i] <= 0)) continue;
        const X = px(x[i]);
        ctx.moveTo(X, py(min[i]));
        ctx.lineTo(X, Math.min(py(max[i]), py(min[i]) - 1));
      }
      ctx.stroke();
    }
    this.drawMarks(u, px);
    ctx.restore();
  }

  drawMarks(u, px) {
    const ctx = u.ctx, { top, height } = u.bbox, s = 5 * (devicePixelRatio || 1);
    for (const c of this.cols || []) {
      if (c.kind !== "last") continue;
      const { x, nf } = c.seg;
      ctx.fillStyle = MARK;
      ctx.strokeStyle = MARK;
      ctx.lineWidth = 1.5 * (devicePixelRatio || 1);
      for (let i = 0; i < x.length; i++) {
        const f = nf[i];
        if (!f) continue;
        const X = px(x[i]);
        if (f[1]) tri(ctx, X, top + s, s, -1);
        if (f[2]) tri(ctx, X, top + height - s, s, 1);
        if (f[0]) {
          const Y = top + height - 2.2 * s;
          ctx.beginPath();
          ctx.moveTo(X - s * 0.7, Y - s * 0.7); ctx.lineTo(X + s * 0.7, Y + s * 0.7);
          ctx.moveTo(X + s * 0.7, Y - s * 0.7); ctx.lineTo(X - s * 0.7, Y + s * 0.7);
          ctx.stroke();
        }
      }
    }
  }

  zoomed(u) {
    const sel = u.select;
    if (sel.width < 4) return;
    const lo = u.posToVal(sel.left, "x"), hi = u.posToVal(sel.left + sel.width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.ctx.onZoom(lo, hi);
  }

  updateCounts() {
    let points = 0, shown = 0, nan = 0, pinf = 0, ninf = 0, resumed = 0, hidden = 0;
    for (const s of this.series) {
      points += s.points;
      shown += s.shown;
      resumed += Math.max(0, s.segments.length - 1);
      for (const seg of s.segments) {
        for (const f of seg.nf) if (f) { nan += f[0]; pinf += f[1]; ninf += f[2]; }
        if (this.opts.log) for (const v of seg.min) if (v !== null && v <= 0) hidden++;
      }
    }
    this.el.dataset.points = String(points);
    this.el.dataset.shown = String(shown);
    this.count.textContent = `${fmtInt(points)} points → ${fmtInt(shown)} shown`;
    const marks = [];
    if (nan) marks.push(`× ${fmtInt(nan)} NaN`);
    if (pinf) marks.push(`▲ ${fmtInt(pinf)} +inf`);
    if (ninf) marks.push(`▼ ${fmtInt(ninf)} -inf`);
    if (resumed) marks.push(`↻ ${resumed} resumed segment${resumed > 1 ? "s" : ""}`);
    if (hidden) marks.push(`${fmtInt(hidden)} bucket${hidden > 1 ? "s" : ""} with values ≤ 0 (not on a log scale)`);
    this.marks.textContent = marks.join(" · ");
    this.el.dataset.nonfinite = String(nan + pinf + ninf);
  }

  showReadout(u) {
    clear(this.readout);
    const idx = u.cursor.idx;
    if (idx === null || idx === undefined) return;
    const xv = u.data[0][idx];
    const axisText = this.opts.axis === "step" ? `step ${fmtInt(xv)}` : this.opts.axis === "wall"
      ? new Date(xv * 1000).toISOString().slice(11, 19) : `${fmtValue(xv)} s`;
    this.readout.append(el("span", { class: "ts-rx", text: axisText }));
    let shown = 0;
    this.cols.forEach((c, ci) => {
      if (c.kind !== "last" || shown >= 12) return;
      const i = indexOf(c.x, xv);
      if (i < 0) return;
      shown++;
      const seg = c.seg;
      const f = seg.nf[i];
      let text = fmtValue(seg.last[i] ?? (f ? ["", "NaN", "+inf", "-inf"][f[3]] : null));
      if (seg.cnt[i] > 1) text += ` (${fmtValue(seg.min[i])} … ${fmtValue(seg.max[i])}, ${fmtInt(seg.cnt[i])} pts)`;
      if (f) text += ` ⚠ ${[f[0] && `${f[0]} NaN`, f[1] && `${f[1]} +inf`, f[2] && `${f[2]} -inf`].filter(Boolean).join(", ")}`;
      const sm = this.cols[ci + 1];
      if (sm && sm.kind === "smooth" && sm.s === c.s && sm.k === c.k && sm.y[i] !== null) text += ` · smoothed ${fmtValue(sm.y[i])}`;
      this.readout.append(el("span", { class: "ts-ri" },
        el("i", { class: "ts-sw", dataset: { color: this.ctx.color(c.s.run) } }),
        `${this.ctx.runName(c.s.run)} ${c.s.split}${c.k ? ` ↻${c.k}` : ""}: `, el("b", { text })));
    });
    for (const sw of this.readout.querySelectorAll(".ts-sw")) sw.style.background = sw.dataset.color;
  }

  toggleCSV() {
    clear(this.csvList);
    this.csvList.hidden = !this.csvList.hidden;
    for (const s of this.series) {
      const name = `${this.ctx.runName(s.run)}_${s.split}_${this.metric}.csv`;
      this.csvList.append(el("a", { href: this.ctx.csv(s.run, this.metric, s.split), download: safeFileName(name) },
        `${this.ctx.runName(s.run)} · ${s.split} (${fmtInt(s.points)} points)`));
    }
  }

  exportPNG() {
    const src = this.u.ctx.canvas;
    const head = 28 * (devicePixelRatio || 1);
    const c = document.createElement("canvas");
    c.width = src.width;
    c.height = src.height + head;
    const g = c.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, c.width, c.height);
    g.fillStyle = "#1f2933";
    g.font = `${14 * (devicePixelRatio || 1)}px system-ui, sans-serif`;
    g.fillText(`${this.metric} — ${this.count.textContent}`, 8, head * 0.7);
    g.drawImage(src, 0, head);
    c.toBlob((b) => b && download(b, `${this.metric}.png`), "image/png");
  }

  exportSVG() {
    download(new Blob([chartSVG(this)], { type: "image/svg+xml" }), `${this.metric}.svg`);
  }

  resize() {
    if (this.u) this.u.setSize({ width: this.width, height: HEIGHT });
  }

  destroy() {
    if (this.u) this.u.destroy();
    this.u = null;
  }
}

function tri(ctx, x, y, s, dir) {
  ctx.beginPath();
  ctx.moveTo(x - s, y - dir * s * 0.8);
  ctx.lineTo(x + s, y - dir * s * 0.8);
  ctx.lineTo(x, y + dir * s * 0.8);
  ctx.closePath();
  ctx.fill();
}

// Position of value v in a sorted array, or -1.
function indexOf(xs, v) {
  let lo = 0, hi = xs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < v) lo = mid + 1;
    else if (xs[mid] > v) hi = mid - 1;
    else return mid;
  }
  return -1;
}
