// The health timeline: one row per series that went wrong, its problem spells as bars on
// a shared step axis (non-finite crimson, exploding orange, vanishing blue), and the
// monitor's events as dashed lines. Hover a bar or line for what it holds.
import { el, svg, clear } from "./dom.js";
import { fmtStep } from "./numbers.js";
import { scale, niceTicks } from "./scale.js";
import { MARK_COLORS } from "./colors.js";

const ROW = 20;
const LEFT = 230;

export class Timeline {
  constructor(root, spec) {
    this.spec = spec;
    this.plot = el("div", { class: "ts-plot" });
    this.readout = el("div", { class: "ts-readout", "aria-live": "polite" });
    const keys = el("div", { class: "ts-legend-line" }, ...Object.entries({ nonfinite: "non-finite", exploding: "exploding", vanishing: "vanishing", event: "monitor event" })
      .map(([k, label]) => el("span", { class: "ts-legend-item" }, el("i", { class: "ts-dot", style: `background:${MARK_COLORS[k]}` }), label)));
    root.append(el("div", { class: "ts-chart-head" }, el("span", { class: "ts-chart-title", text: "Health timeline" })), this.plot, keys, this.readout);
    this.draw();
  }

  draw() {
    const { rows, events } = this.spec;
    const [lo, hi] = this.spec.range[0] === this.spec.range[1] ? [this.spec.range[0] - 1, this.spec.range[1] + 1] : this.spec.range;
    const W = Math.max(420, Math.floor(this.plot.clientWidth || 700));
    const H = Math.max(1, rows.length) * ROW + 40;
    const X = scale(lo, hi, LEFT, W - 14);
    const root = svg("svg", { class: "ts-svg-chart", width: W, height: H, viewBox: `0 0 ${W} ${H}` });
    rows.forEach((row, r) => {
      const y = 8 + r * ROW;
      root.append(svg("text", { x: LEFT - 8, y: y + 13, "text-anchor": "end", class: "ts-row-label", text: clip(row.label, 34) }, svg("title", { text: row.label })));
      root.append(svg("line", { class: "ts-grid", x1: LEFT, x2: W - 14, y1: y + ROW / 2, y2: y + ROW / 2 }));
      for (const m of row.spells) {
        const a = X(m.x), b = Math.max(X(m.x2), a + 3);
        const bar = svg("rect", { x: a - 1.5, y: y + 3, width: b - a + 3, height: ROW - 6, rx: 2, fill: MARK_COLORS[m.kind] || MARK_COLORS.nonfinite }, svg("title", { text: m.text }));
        bar.addEventListener("mouseenter", () => this.say(m.text));
        root.append(bar);
      }
    });
    const bottom = 8 + Math.max(1, rows.length) * ROW;
    for (const e of events) {
      const x = X(e.x);
      const line = svg("line", { x1: x, x2: x, y1: 4, y2: bottom, stroke: MARK_COLORS.event, "stroke-width": 2, "stroke-dasharray": "5 3" }, svg("title", { text: `step ${fmtStep(e.x)}: ${e.text}` }));
      line.addEventListener("mouseenter", () => this.say(`step ${fmtStep(e.x)}: ${e.text}`));
      root.append(line);
    }
    root.append(svg("line", { class: "ts-axis", x1: LEFT, x2: W - 14, y1: bottom, y2: bottom }));
    for (const v of niceTicks(lo, hi, 6).filter((t) => Number.isInteger(t))) {
      root.append(svg("text", { x: X(v), y: bottom + 16, "text-anchor": "middle", text: fmtStep(v) }));
    }
    root.append(svg("text", { class: "ts-axis-label", x: (LEFT + W) / 2, y: bottom + 30, "text-anchor": "middle", text: "step" }));
    clear(this.plot);
    this.plot.append(root);
  }

  say(text) {
    clear(this.readout);
    this.readout.append(el("span", { class: "ts-read", text }));
  }
}

function clip(text, n) {
  return text.length > n ? `${text.slice(0, 12)}…${text.slice(-(n - 13))}` : text;
}
