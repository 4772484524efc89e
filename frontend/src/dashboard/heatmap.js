// A layers × steps heatmap on a canvas: one row per layer (input → output), one column per
// step bucket, coloured by the bucket's largest value (so a spike is never averaged away;
// a log scale when the values span more than two decades) on the graph's colour ramp. Cells with no point are grey,
// cells holding NaN/inf red. Names are drawn as canvas text (never markup). Clicking a
// cell selects its layer and step; hovering says what the cell holds.
import { el, clear } from "./dom.js";
import { colorPosition } from "./colors.js";
import { colorFor, rampCSS } from "../colors.js";
import { fmtInt, fmtValue } from "./numbers.js";

const LABEL_W = 190;
const EMPTY = "#eceff3";
const BAD = "#e03131";

export class Heatmap {
  constructor(title, { onPick } = {}) {
    this.title = title;
    this.onPick = onPick;
    this.data = null;
    this.selectedLayer = null;
    this.selectedCol = null;
    this.canvas = el("canvas", { class: "ts-heat-canvas" });
    this.tip = el("div", { class: "ts-heat-tip" });
    this.legend = el("div", { class: "ts-heat-legend" });
    this.el = el("section", { class: "ts-heat", dataset: { testid: "heatmap" } },
      el("h3", { text: title }), this.legend, this.canvas, this.tip);
    this.canvas.addEventListener("mousemove", (e) => this.hover(e));
    this.canvas.addEventListener("mouseleave", () => { this.tip.textContent = ""; });
    this.canvas.addEventListener("click", (e) => this.click(e));
  }

  set(data) {
    this.data = data;
    this.el.dataset.layers = String(data.layers.length);
    this.el.dataset.columns = String(data.from.length);
    // loops, not Math.min(...values): a large heatmap would overflow the call stack
    let lo = Infinity, hi = -Infinity, plo = Infinity, count = 0, positive = 0;
    for (const row of data.max) for (const v of row) {
      if (v === null) continue;
      count++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      if (v > 0) { positive++; if (v < plo) plo = v; }
    }
    this.log = count > 0 && positive === count && hi / plo > 100;
    this.range = this.log ? [plo, hi] : [lo, hi];
    this.legendRamp = { ramp: data.ramp, dark: data.dark };
    clear(this.legend);
    if (count) {
      const bar = el("span", { class: "ts-ramp" });
      bar.style.background = rampCSS(data.ramp);
      this.legend.append(el("span", { text: fmtValue(lo) }), bar, el("span", { text: fmtValue(hi) }),
        el("span", { class: "ts-hint", text: `${this.log ? "log scale · " : ""}largest value per cell · ${fmtInt(data.points)} points` }));
    } else {
      this.legend.append(el("span", { class: "ts-hint", text: "no points yet" }));
    }
    this.draw();
  }

  // The graph viewer's ramp (the one colour scale for values), the step it would pick.
  colorOf(v) {
    const [a, b] = this.range;
    if (!(b > a)) return colorFor(this.legendRamp, 0).fill; // one value throughout: the light end
    return colorFor(this.legendRamp, colorPosition(v, a, b, this.log)).fill;
  }

  geometry() {
    const d = this.data;
    const width = Math.max(300, this.el.clientWidth || 700);
    const rowH = Math.max(3, Math.min(16, Math.floor(520 / Math.max(1, d.layers.length))));
    const plotW = width - LABEL_W - 8;
    return { width, height: rowH * d.layers.length + 18, rowH, plotW, colW: plotW / Math.max(1, d.from.length) };
  }

  draw() {
    const d = this.data;
    if (!d) return;
    const g = this.geometry();
    const r = devicePixelRatio || 1;
    this.canvas.width = g.width * r;
    this.canvas.height = g.height * r;
    this.canvas.style.width = g.width + "px";
    this.canvas.style.height = g.height + "px";
    const ctx = this.canvas.getContext("2d");
    ctx.scale(r, r);
    ctx.font = `${Math.min(11, g.rowH)}px ui-monospace, Menlo, monospace`;
    ctx.textBaseline = "middle";
    const bad = new Set(d.nonfinite.map(([i, j]) => i * 1e6 + j));
    d.layers.forEach((name, i) => {
      const y = i * g.rowH;
      if (g.rowH >= 8) {
        ctx.fillStyle = name === this.selectedLayer ? "#1c7ed6" : "#3e4c59";
        ctx.fillText(shorten(name, 30), 4, y + g.rowH / 2);
      }
      for (let j = 0; j < d.from.length; j++) {
        const v = d.max[i][j];
        ctx.fillStyle = bad.has(i * 1e6 + j) ? BAD : v === null ? EMPTY : this.colorOf(v);
        const x0 = Math.floor(LABEL_W + j * g.colW), x1 = Math.floor(LABEL_W + (j + 1) * g.colW);
        ctx.fillRect(x0, y, Math.max(1, x1 - x0), g.rowH);
      }
      if (name === this.selectedLayer) {
        ctx.strokeStyle = "#1c7ed6";
        ctx.lineWidth = 2;
        ctx.strokeRect(LABEL_W, y + 1, g.plotW, g.rowH - 2);
      }
    });
    if (this.selectedCol !== null && this.selectedCol < d.from.length) {
      ctx.strokeStyle = "#1f2933";
      ctx.lineWidth = 1.5;
      ctx.strokeRect(LABEL_W + this.selectedCol * g.colW, 0, Math.max(2, g.colW), d.layers.length * g.rowH);
    }
    ctx.fillStyle = "#52606d";
    ctx.textBaseline = "top";
    const y = d.layers.length * g.rowH + 4;
    if (d.from.length) {
      ctx.fillText(`step ${fmtInt(Math.round(d.from[0]))}`, LABEL_W, y);
      const end = `step ${fmtInt(Math.round(d.to[d.to.length - 1]))}`;
      ctx.fillText(end, LABEL_W + g.plotW - ctx.measureText(end).width, y);
    }
  }

  cellAt(e) {
    const d = this.data;
    if (!d) return null;
    const g = this.geometry();
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left, y = e.clientY - rect.top;
    const i = Math.floor(y / g.rowH);
    const j = Math.floor((x - LABEL_W) / g.colW);
    if (i < 0 || i >= d.layers.length) return null;
    return { i, j: x < LABEL_W ? null : Math.min(j, d.from.length - 1) };
  }

  hover(e) {
    const c = this.cellAt(e);
    if (!c) { this.tip.textContent = ""; return; }
    const d = this.data;
    if (c.j === null) { this.tip.textContent = d.layers[c.i]; return; }
    const bad = d.nonfinite.find(([i, j]) => i === c.i && j === c.j);
    this.tip.textContent = `${d.layers[c.i]} · steps ${fmtInt(Math.ceil(d.from[c.j]))}–${fmtInt(Math.floor(d.to[c.j]))} · ` +
      `max ${fmtValue(d.max[c.i][c.j])}, min ${fmtValue(d.min[c.i][c.j])}, last ${fmtValue(d.last[c.i][c.j])}` +
      (bad ? ` · ${bad[2]} non-finite` : "");
  }

  click(e) {
    const c = this.cellAt(e);
    if (!c) return;
    this.selectedLayer = this.data.layers[c.i];
    if (c.j !== null) this.selectedCol = c.j;
    this.draw();
    if (this.onPick) this.onPick(this.selectedLayer, this.selectedCol);
  }

  selectLayer(name) {
    this.selectedLayer = name;
    this.draw();
  }

  // Values of every layer at one column (for colouring the model by this statistic).
  column(j) {
    const d = this.data;
    const out = new Map();
    if (!d || j === null || j >= d.from.length) return out;
    d.layers.forEach((name, i) => { if (d.max[i][j] !== null) out.set(name, d.max[i][j]); });
    return out;
  }
}

function shorten(name, most) {
  return name.length <= most ? name : name.slice(0, 8) + "…" + name.slice(name.length - most + 9);
}
