// The structure viewer inside the dashboard: the graph viewer's own modules (tree, layout,
// render, colours, pan/zoom transform, details) driven from here, with its modules
// coloured by a statistic of the run. Only those modules' exports are used, so the viewer
// can change inside freely.
import { colorPosition } from "./colors.js";
import { rampCSS } from "../colors.js";
import { showDetails } from "../details.js";
import { Layouts } from "../layout.js";
import { makeColors, renderGraph } from "../render.js";
import { Transform, centerTransform, fitTransform } from "../transform.js";
import { buildTree } from "../tree.js";
import { el, clear } from "./dom.js";
import { fmtValue } from "./numbers.js";

const SVG_NS = "http://www.w3.org/2000/svg";

export class GraphPanel {
  // data: the viewer's data (viewer_data.py); ramp/dark: the one colour ramp for values.
  constructor(data, { ramp, dark, onSelect } = {}) {
    this.data = data;
    this.kindLegend = data.legend;
    this.ramp = ramp;
    this.dark = dark;
    this.onSelect = onSelect;
    this.tree = buildTree(data);
    this.layouts = new Layouts();
    this.colorOf = makeColors(data);
    this.view = new Transform(1, 20, 20);
    this.selected = null;
    this.canvas = el("div", { class: "ts-canvas ts-graph-canvas", dataset: { testid: "graph" } });
    this.details = el("aside", { class: "ts-details ts-graph-details", "aria-live": "polite" });
    this.legend = el("div", { class: "ts-graph-legend" });
    this.el = el("section", { class: "ts-graph" }, el("div", { class: "ts-graph-main" }, this.canvas, this.details), this.legend);
    this.svg = document.createElementNS(SVG_NS, "svg");
    this.svg.setAttribute("class", "ts-svg");
    this.canvas.append(this.svg);
    this.byPath = new Map(); // a module's first call
    for (const n of this.tree.moduleNodes) {
      const p = data.modules[n.mod].p;
      if (!this.byPath.has(p)) this.byPath.set(p, n);
    }
    for (const n of this.tree.nodes) {
      if (!n.children || n === this.tree.root) continue;
      const m = n.kind === "module" ? data.modules[n.mod] : null;
      n.expanded = !!m && (m.p ? m.p.split(".").length : 0) < data.depth && data.scopes[n.scope].ch.length > 0;
    }
    this.wire();
  }

  render() {
    this.layouts.ensure(this.tree.root);
    const out = renderGraph(this.tree, this.colorOf, new Set(), this.selected);
    this.size = [out.width, out.height];
    // renderGraph escapes every model-derived string it writes (the viewer's esc()).
    this.svg.innerHTML = `<defs><marker id="ts-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L8 4L0 8z" class="ts-arrowhead"/></marker></defs><g class="ts-viewport">${out.svg}</g>`;
    this.viewport = this.svg.lastChild;
    this.apply(this.view);
  }

  apply(view) {
    this.view = view;
    this.viewport.setAttribute("transform", view.toString());
  }

  fit() {
    const r = this.canvas.getBoundingClientRect();
    this.apply(fitTransform(r.width, r.height, this.size[0], this.size[1]));
  }

  // Colour every call of a module by `values` (module path → number; a container by its
  // largest descendant); none: back to the colours by op kind.
  setValues(values, label) {
    const { modules, scopes } = this.data;
    for (const s of scopes) { delete s.v; delete s.cv; }
    if (!values) {
      this.data.legend = this.kindLegend;
    } else {
      const up = new Map();
      for (const [path, v] of values) {
        for (let p = path; ; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") {
          up.set(p, Math.max(up.get(p) ?? -Infinity, v));
          if (!p) break;
        }
      }
      let lo = Infinity, hi = -Infinity, positive = Infinity;
      for (const v of up.values()) { lo = Math.min(lo, v); hi = Math.max(hi, v); if (v > 0) positive = Math.min(positive, v); }
      const log = positive > 0 && positive < Infinity && lo > 0 && hi / positive > 100;
      for (const s of scopes) {
        const v = up.get(modules[s.m].p);
        if (v === undefined) continue;
        s.cv = v;
        s.v = colorPosition(v, log ? positive : lo, hi, log);
      }
      this.data.legend = { mode: "value", label, min: lo, max: hi, log, ramp: this.ramp, dark: this.dark };
    }
    this.colorOf = makeColors(this.data);
    this.drawLegend();
    this.render();
  }

  drawLegend() {
    clear(this.legend);
    const lg = this.data.legend;
    if (lg.mode !== "value") return;
    const bar = el("span", { class: "ts-ramp" });
    bar.style.background = rampCSS(lg.ramp);
    this.legend.append(el("span", { text: `${lg.label}${lg.log ? " (log)" : ""}: ${fmtValue(lg.min)}` }), bar, el("span", { text: fmtValue(lg.max) }),
      el("span", { class: "ts-hint", text: " grey: no value · a container shows its largest" }));
  }

  select(node, { center = false, notify = true } = {}) {
    this.selected = node;
    for (const e of this.svg.querySelectorAll(".ts-sel")) e.classList.remove("ts-sel");
    if (node) this.svg.querySelector(`[data-id="${node.id}"]`)?.classList.add("ts-sel");
    showDetails(this.details, node, this.data, this.kindLegend.kinds?.map((k) => k[0]) || []);
    if (node && center) this.centerOn(node);
    if (node && notify && this.onSelect && node.mod !== undefined) this.onSelect(this.data.modules[node.mod].p);
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
    this.apply(centerTransform(r.width, r.height, { x: node.ax, y: node.ay, w: node.w, h: node.h }, this.view));
  }

  wire() {
    const c = this.canvas;
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      this.apply(this.view.zoomAt([e.clientX - r.left, e.clientY - r.top], this.view.k * Math.exp(-e.deltaY * 0.0015)));
    }, { passive: false });
    let drag = null;
    c.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, y: e.clientY, view: this.view, moved: false }; });
    c.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved) this.apply(drag.view.translateBy(dx, dy));
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
