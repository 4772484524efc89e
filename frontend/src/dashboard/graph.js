// The structure viewer inside the dashboard: the graph viewer's own modules (tree, layout,
// render, details) driven from here, with its modules coloured by a statistic of the run.
// Only those modules' public functions are used, so the viewer can change inside freely.
import { buildTree } from "../tree.js";
import { Layouts } from "../layout.js";
import { makeColours, renderGraph, rampCSS } from "../render.js";
import { showDetails } from "../details.js";
import { el, clear } from "./dom.js";
import { fmtValue } from "./numbers.js";

const SVG_NS = "http://www.w3.org/2000/svg";

export class GraphPanel {
  constructor(data, { onSelect } = {}) {
    this.data = data;
    this.onSelect = onSelect;
    this.tree = buildTree(data);
    this.layouts = new Layouts();
    this.colourOf = makeColours(data);
    this.view = { x: 20, y: 20, k: 1 };
    this.selected = null;
    this.canvas = el("div", { class: "ts-canvas ts-graph-canvas", dataset: { testid: "graph" } });
    this.details = el("aside", { class: "ts-details ts-graph-details", "aria-live": "polite" });
    this.legend = el("div", { class: "ts-graph-legend" });
    this.el = el("section", { class: "ts-graph" }, el("div", { class: "ts-graph-main" }, this.canvas, this.details), this.legend);
    this.svg = document.createElementNS(SVG_NS, "svg");
    this.svg.setAttribute("class", "ts-svg");
    this.canvas.append(this.svg);
    this.byPath = new Map(this.tree.moduleNodes.filter(Boolean).map((n) => [data.modules[n.mod].p, n]));
    for (const n of this.tree.nodes) {
      if (!n.children || n === this.tree.root) continue;
      const m = n.kind === "module" ? data.modules[n.mod] : null;
      n.expanded = !!m && (m.p ? m.p.split(".").length : 0) < data.depth && m.ch.length > 0;
    }
    this.wire();
  }

  render() {
    this.layouts.ensure(this.tree.root);
    const out = renderGraph(this.tree, this.colourOf, new Set(), this.selected);
    this.size = [out.width, out.height];
    // renderGraph escapes every model-derived string it writes (the viewer's esc()).
    this.svg.innerHTML = `<defs><marker id="ts-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L8 4L0 8z" class="ts-arrowhead"/></marker></defs><g class="ts-viewport">${out.svg}</g>`;
    this.viewport = this.svg.lastChild;
    this.apply();
  }

  apply() {
    const { x, y, k } = this.view;
    this.viewport.setAttribute("transform", `translate(${x.toFixed(1)},${y.toFixed(1)}) scale(${k.toFixed(4)})`);
  }

  fit() {
    const r = this.canvas.getBoundingClientRect();
    const [w, h] = this.size;
    const k = Math.max(0.1, Math.min(1.2, (r.width - 40) / w, (r.height - 40) / h));
    this.view = { k, x: Math.max(20, (r.width - w * k) / 2), y: 20 };
    this.apply();
  }

  // Colour modules by `values` (module path → number); none: back to colours by op kind.
  setValues(values, label) {
    const mods = this.data.modules;
    for (const m of mods) delete m.v;
    if (!values) {
      this.data.legend = this.kindLegend || this.data.legend;
    } else {
      this.kindLegend = this.kindLegend || this.data.legend;
      const up = new Map();
      for (const [path, v] of values) {
        for (let p = path; ; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
          up.set(p, Math.max(up.get(p) ?? -Infinity, v));
          if (!p) break;
        }
      }
      mods.forEach((m) => { if (up.has(m.p)) m.v = up.get(m.p); });
      let lo = Infinity, hi = 0;
      for (const v of up.values()) if (v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      if (!hi) lo = 0;
      this.data.legend = { mode: "value", label, min: lo, max: hi, log: lo > 0 && hi / lo > 100 };
    }
    this.colourOf = makeColours(this.data);
    this.drawLegend();
    this.render();
  }

  drawLegend() {
    clear(this.legend);
    const lg = this.data.legend;
    if (lg.mode !== "value") return;
    const bar = el("span", { class: "ts-ramp" });
    bar.style.background = rampCSS;
    this.legend.append(el("span", { text: `${lg.label}${lg.log ? " (log)" : ""}: ${fmtValue(lg.min)}` }), bar, el("span", { text: fmtValue(lg.max) }),
      el("span", { class: "ts-hint", text: " grey: no value · a container shows its largest" }));
  }

  select(node, { center = false, notify = true } = {}) {
    this.selected = node;
    for (const e of this.svg.querySelectorAll(".ts-sel")) e.classList.remove("ts-sel");
    if (node) this.svg.querySelector(`[data-id="${node.id}"]`)?.classList.add("ts-sel");
    showDetails(this.details, node, this.data, this.data.legend.kinds?.map((k) => k[0]) || []);
    if (node && center) this.centerOn(node);
    if (node && notify && this.onSelect && node.kind !== "op") this.onSelect(this.data.modules[node.mod]?.p ?? "");
  }

  // Select a module by path, opening its ancestors (nearest shown ancestor if absent).
  selectPath(path) {
    let p = path;
    while (p && !this.byPath.has(p)) p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "";
    const node = this.byPath.get(p);
    if (!node) return;
    let changed = false;
    for (let a = node.parent; a; a = a.parent) if (!a.expanded) { a.expanded = true; changed = true; }
    if (changed) this.render();
    this.select(node, { center: true, notify: false });
  }

  centerOn(node) {
    const r = this.canvas.getBoundingClientRect();
    const k = Math.max(this.view.k, 0.8);
    this.view = { k, x: r.width / 2 - (node.ax + node.w / 2) * k, y: r.height / 2 - (node.ay + node.h / 2) * k };
    this.apply();
  }

  wire() {
    const c = this.canvas;
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = c.getBoundingClientRect(), mx = e.clientX - r.left, my = e.clientY - r.top;
      const k = Math.min(4, Math.max(0.02, this.view.k * Math.exp(-e.deltaY * 0.0015)));
      this.view = { k, x: mx - ((mx - this.view.x) * k) / this.view.k, y: my - ((my - this.view.y) * k) / this.view.k };
      this.apply();
    }, { passive: false });
    let drag = null;
    c.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y, moved: false }; });
    c.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved) { this.view.x = drag.vx + dx; this.view.y = drag.vy + dy; this.apply(); }
    });
    c.addEventListener("pointerup", (e) => {
      const d = drag;
      drag = null;
      if (!d || d.moved) return;
      const hit = e.target.closest?.("[data-id]");
      if (!hit) return;
      const node = this.tree.nodes[+hit.getAttribute("data-id")];
      const onHeader = !hit.classList.contains("ts-g") || e.target.closest(".ts-ghead, .ts-gl");
      if (node.children && node !== this.tree.root && onHeader) { node.expanded = !node.expanded; this.render(); }
      this.select(node);
    });
  }
}
