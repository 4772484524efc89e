// A layers × steps heatmap: one row per layer (input at the top), one column per step
// bucket, each cell coloured by the largest value of its bucket (log scale when the data
// spans more than two decades). Cells are painted on a canvas (hundreds of thousands of
// them would be too many SVG elements); layer names and axes are HTML/SVG text, and
// hovering a cell writes its layer, steps and value into the readout.
import { el, svg, clear, pointer } from "./dom.js";
import { fmt, fmtRange, fmtStep } from "./numbers.js";
import { ramp, RAMP_CSS } from "./colors.js";
import { niceTicks } from "./scale.js";

const LABEL_W = 210;
const EMPTY = [236, 239, 243];

export class Heatmap {
  constructor(root, spec) {
    this.spec = spec;
    const vals = spec.values.flat().filter((v) => v !== null);
    const [lo, hi] = bounds(vals), [plo, phi] = bounds(vals.filter((v) => v > 0));
    this.range = spec.log && plo !== null ? [Math.log10(plo), Math.log10(phi)] : lo !== null ? [lo, hi] : [0, 1];
    this.rowH = Math.max(3, Math.min(14, Math.floor(480 / Math.max(1, spec.rows.length))));
    this.canvas = el("canvas", { class: "ts-heat-canvas" });
    this.labels = el("div", { class: "ts-heat-labels", style: `width:${LABEL_W}px` });
    this.axis = el("div", { class: "ts-heat-axis" });
    this.readout = el("div", { class: "ts-readout", "aria-live": "polite" });
    const bar = el("span", { class: "ts-ramp", style: `background:${RAMP_CSS}` });
    const ends = vals.length ? [fmt(spec.log ? 10 ** this.range[0] : this.range[0]), fmt(spec.log ? 10 ** this.range[1] : this.range[1])] : ["–", "–"];
    const legend = el("div", { class: "ts-heat-legend" }, el("span", { text: ends[0] }), bar, el("span", { text: ends[1] }),
      el("span", { class: "ts-muted", text: `${spec.log ? "log scale · " : ""}largest value per cell · ${fmtStep(spec.points)} points` }));
    this.body = el("div", { class: "ts-heat-body" }, this.labels, el("div", { class: "ts-heat-main" }, this.canvas, this.axis));
    root.append(el("div", { class: "ts-chart-head" }, el("span", { class: "ts-chart-title", text: spec.title })), legend, this.body, this.readout);
    this.canvas.addEventListener("mousemove", (e) => this.hover(e));
    this.canvas.addEventListener("mouseleave", () => clear(this.readout));
    this.draw();
  }

  colorOf(v) {
    if (v === null) return EMPTY;
    const [a, b] = this.range;
    const t = this.spec.log ? (v > 0 ? (Math.log10(v) - a) / (b - a || 1) : 0) : (v - a) / (b - a || 1);
    return ramp(t);
  }

  draw() {
    const { rows, values, x } = this.spec;
    const cols = x.length;
    // one canvas pixel per cell; CSS stretches it without smoothing
    this.canvas.width = Math.max(1, cols);
    this.canvas.height = Math.max(1, rows.length);
    this.canvas.style.height = `${rows.length * this.rowH}px`;
    const ctx = this.canvas.getContext("2d");
    const img = ctx.createImageData(this.canvas.width, this.canvas.height);
    for (let r = 0; r < rows.length; r++) {
      for (let c = 0; c < cols; c++) {
        const [R, G, B] = this.colorOf(values[r][c]);
        const k = 4 * (r * cols + c);
        img.data[k] = R; img.data[k + 1] = G; img.data[k + 2] = B; img.data[k + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    clear(this.labels);
    const every = Math.max(1, Math.ceil(11 / this.rowH));
    for (let r = 0; r < rows.length; r++) {
      const label = el("div", { class: "ts-heat-label", style: `height:${this.rowH}px;line-height:${this.rowH}px`, title: rows[r] });
      if (r % every === 0) label.textContent = rows[r];
      this.labels.append(label);
    }
    this.drawAxis();
  }

  drawAxis() {
    const { x, x2 } = this.spec;
    clear(this.axis);
    if (!x.length) return;
    const lo = x[0], hi = x2[x2.length - 1];
    const W = 1000;
    const s = svg("svg", { viewBox: `0 0 ${W} 26`, preserveAspectRatio: "none", class: "ts-heat-ticks" });
    for (const v of niceTicks(lo, hi, 6).filter((t) => Number.isInteger(t))) {
      const px = ((v - lo) / (hi - lo || 1)) * W;
      s.append(svg("line", { x1: px, x2: px, y1: 0, y2: 5, stroke: "#7b8794" }));
    }
    this.axis.append(s);
    const labels = el("div", { class: "ts-heat-ticklabels" });
    for (const v of niceTicks(lo, hi, 6).filter((t) => Number.isInteger(t))) {
      labels.append(el("span", { style: `left:${((v - lo) / (hi - lo || 1)) * 100}%`, text: fmtStep(v) }));
    }
    this.axis.append(labels, el("div", { class: "ts-axis-label", text: "step" }));
  }

  hover(e) {
    const [px, py] = pointer(e, this.canvas);
    const rect = this.canvas.getBoundingClientRect();
    const c = Math.floor((px / rect.width) * this.spec.x.length);
    const r = Math.floor((py / rect.height) * this.spec.rows.length);
    clear(this.readout);
    if (c < 0 || r < 0 || c >= this.spec.x.length || r >= this.spec.rows.length) return;
    const v = this.spec.values[r][c];
    this.readout.append(el("span", { class: "ts-read", text:
      `${this.spec.rows[r]} · ${fmtRange(this.spec.x[c], this.spec.x2[c])}: ${v === null ? "no point" : fmt(v)}` }));
  }
}

// [min, max] of an array (a loop: spreading 100k values into Math.min overflows the stack).
function bounds(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return lo === Infinity ? [null, null] : [lo, hi];
}
