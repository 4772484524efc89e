// Entry point: read the embedded graph, build the display tree, wire up the UI.
// Data keys: see the table at the top of tree.js (written by viewer_data.py).
import { showDetails } from "./details.js";
import { exportPNG, exportSVGText } from "./export.js";
import { fmtCount, fmtSI } from "./format.js";
import { Layouts, flatLayoutMs } from "./layout.js";
import { rampCSS } from "./colors.js";
import { makeColors, renderGraph } from "./render.js";
import { SVG_STYLE } from "./style.js";
import { Transform, centerTransform, fitTransform } from "./transform.js";
import { buildTree } from "./tree.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const REVEAL_LIMIT = 40;
const TRANSPARENT = new Set(["ModuleList", "ModuleDict", "Sequential"]);

function initialExpansion(tree, data) {
  for (const n of tree.nodes) {
    if (!n.children || n === tree.root) continue;
    n.expanded = false;
    if (n.kind !== "module") continue;
    const m = data.modules[n.mod];
    const depth = m.p ? m.p.split(".").length : 0;
    // A leaf module (Linear, LayerNorm) says more collapsed than as a box around one op.
    n.expanded = depth < data.depth && data.scopes[n.scope].ch.length > 0;
  }
  // Containers with no ops of their own say nothing when collapsed: open them once visible.
  for (const n of tree.nodes) {
    if (n.kind === "module" && !n.expanded && n.children && n.parent && n.parent.expanded
      && TRANSPARENT.has(n.type) && !data.scopes[n.scope].ops.length) n.expanded = true;
  }
}

class Viewer {
  constructor(data) {
    this.data = data;
    this.tree = buildTree(data);
    this.layouts = new Layouts();
    this.colorOf = makeColors(data);
    this.hits = new Set();
    this.matches = [];
    this.matchIndex = -1;
    this.selected = null;
    this.view = new Transform(1, 20, 20);
    this.canvas = document.getElementById("ts-canvas");
    this.svg = document.createElementNS(SVG_NS, "svg");
    this.svg.setAttribute("class", "ts-svg");
    this.canvas.append(this.svg);
    this.lastMs = 0;
    // Until the user pans or zooms, the view follows the frame's size (see followSize).
    this.userMoved = false;
    initialExpansion(this.tree, data);
  }

  render() {
    const t0 = performance.now();
    this.layouts.ensure(this.tree.root);
    const out = renderGraph(this.tree, this.colorOf, this.hits, this.selected);
    this.size = [out.width, out.height];
    this.stats = { nodes: out.nodeCount, edges: out.edgeCount, layouts: this.layouts.computed, layoutMs: this.layouts.ms };
    this.drawnPairs = out.pairs;
    this.svg.innerHTML = `<defs><marker id="ts-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L8 4L0 8z" class="ts-arrowhead"/></marker></defs><g class="ts-viewport">${out.svg}</g>`;
    this.viewport = this.svg.lastChild;
    this.applyView();
    this.lastMs = performance.now() - t0;
    return this.lastMs;
  }

  applyView(view = this.view) {
    this.view = view;
    this.viewport.setAttribute("transform", view.toString());
    // Zoomed far out, labels are unreadable specks: skip drawing them (much faster panning).
    this.svg.classList.toggle("ts-far", view.k < 0.3);
  }

  // Whole graph if its text stays readable, else readable from the top: pan for the rest.
  // The view follows the frame's size again until the user moves it.
  fit() {
    const r = this.canvas.getBoundingClientRect();
    this.userMoved = false;
    this.applyView(fitTransform(r.width, r.height, this.size[0], this.size[1]));
  }

  // A view the user chose (wheel, drag, a node centred): a resize no longer refits it.
  moveTo(view) {
    this.userMoved = true;
    this.applyView(view);
  }

  centerOn(node) {
    const r = this.canvas.getBoundingClientRect();
    this.moveTo(centerTransform(r.width, r.height, { x: node.ax, y: node.ay, w: node.w, h: node.h }, this.view));
  }

  toggle(node) {
    if (!node.children || node === this.tree.root) return;
    node.expanded = !node.expanded;
    this.render();
  }

  expandAll() {
    for (const n of this.tree.nodes) if (n.children) n.expanded = true;
    return this.render();
  }

  reset() {
    initialExpansion(this.tree, this.data);
    this.render();
    this.fit();
  }

  select(node) {
    this.selected = node;
    for (const e of this.svg.querySelectorAll(".ts-sel")) e.classList.remove("ts-sel");
    if (node) this.svg.querySelector(`[data-id="${node.id}"]`)?.classList.add("ts-sel");
    showDetails(document.getElementById("ts-details"), node, this.data, this.data.legend.kinds?.map((k) => k[0]) || []);
  }

  search(query) {
    this.query = query;
    const q = query.trim().toLowerCase();
    this.hits = new Set();
    this.matches = [];
    this.matchIndex = -1;
    if (q) {
      for (const n of this.tree.nodes) {
        if (matches(n, q, this.data)) { this.matches.push(n); this.hits.add(n.id); }
      }
      this.matches.slice(0, REVEAL_LIMIT).forEach(reveal);
    }
    this.render();
    if (this.matches.length) this.next();
    else this.select(this.selected);
    return this.matches.length;
  }

  next() {
    if (!this.matches.length) return null;
    this.matchIndex = (this.matchIndex + 1) % this.matches.length;
    const node = this.matches[this.matchIndex];
    if (!isShown(node)) { reveal(node); this.render(); }
    this.select(node);
    this.centerOn(node);
    return node;
  }
}

function matches(n, q, data) {
  if (n.kind === "op") {
    const op = data.ops[n.op];
    return op.n.toLowerCase().includes(q) || op.t.toLowerCase().includes(q);
  }
  if (n.kind === "module") {
    const m = data.modules[n.mod];
    return m.p.toLowerCase().includes(q) || m.t.toLowerCase().includes(q) || n.label.toLowerCase().includes(q);
  }
  return false;
}

function reveal(node) {
  for (let p = node.parent; p; p = p.parent) p.expanded = true;
}

function isShown(node) {
  for (let p = node.parent; p; p = p.parent) if (!p.expanded) return false;
  return true;
}

function legend(data) {
  const box = document.getElementById("ts-legend");
  const lg = data.legend;
  if (lg.mode === "kind") {
    for (const [name, color] of lg.kinds) {
      const row = document.createElement("div");
      const sw = document.createElement("span");
      sw.className = "ts-sw";
      sw.style.background = color;
      row.append(sw, document.createTextNode(name));
      box.append(row);
    }
    return;
  }
  const title = document.createElement("div");
  title.className = "ts-lt";
  title.textContent = `colour: ${lg.label}${lg.log ? " (log scale)" : ""}`;
  const bar = document.createElement("div");
  bar.className = "ts-ramp";
  bar.style.background = rampCSS(lg.ramp);
  const ends = document.createElement("div");
  ends.className = "ts-ends";
  const lo = document.createElement("span"), hi = document.createElement("span");
  lo.textContent = fmtSI(lg.min);
  hi.textContent = fmtSI(lg.max);
  ends.append(lo, hi);
  box.append(title, bar, ends);
}

function wirePanZoom(v) {
  const c = v.canvas;
  // The wheel scrolls (shift: across); with Ctrl or ⌘ (and a trackpad pinch) it zooms at
  // the pointer.
  c.addEventListener("wheel", (e) => {
    e.preventDefault();
    if (e.ctrlKey || e.metaKey) {
      const r = c.getBoundingClientRect();
      v.moveTo(v.view.zoomAt([e.clientX - r.left, e.clientY - r.top], v.view.k * Math.exp(-e.deltaY * 0.0015)));
    } else if (e.shiftKey) {
      v.moveTo(v.view.translateBy(-(e.deltaX || e.deltaY), 0));
    } else {
      v.moveTo(v.view.translateBy(-e.deltaX, -e.deltaY));
    }
  }, { passive: false });
  let drag = null;
  c.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, y: e.clientY, start: v.view, moved: false }; });
  window.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (!drag.moved) return;
    v.moveTo(drag.start.translateBy(dx, dy));
  });
  window.addEventListener("pointerup", (e) => {
    const d = drag;
    drag = null;
    if (!d || d.moved) return;
    const hit = e.target.closest?.("[data-id]");
    if (!hit) return;
    const node = v.tree.nodes[+hit.getAttribute("data-id")];
    // An expanded group collapses from its header only, so clicks inside it just select.
    const onHeader = !hit.classList.contains("ts-g") || e.target.closest(".ts-ghead, .ts-gl");
    if (node.children && node !== v.tree.root && onHeader) v.toggle(node);
    v.select(node);
  });
}

// A frame may start with no size (a sandboxed notebook frame, a report's frame loaded
// lazily) and grow later: the first fit then saw nothing. Refit whenever the canvas changes
// size, until the user has moved the view.
function followSize(v) {
  if (!("ResizeObserver" in window)) return;
  let last = "";
  new ResizeObserver(() => {
    const r = v.canvas.getBoundingClientRect();
    const size = `${Math.round(r.width)}x${Math.round(r.height)}`;
    if (size === last) return;
    last = size;
    if (!v.userMoved) v.fit();
  }).observe(v.canvas);
}

function wireControls(v, data) {
  const input = document.getElementById("ts-search");
  const count = document.getElementById("ts-search-count");
  const showCount = () => { count.textContent = input.value.trim() ? `${v.matches.length ? v.matchIndex + 1 : 0} / ${v.matches.length}` : ""; };
  let timer = 0;
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { v.search(input.value); showCount(); }, 200); });
  input.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    clearTimeout(timer);
    if (v.query !== input.value) v.search(input.value);
    else v.next();
    showCount();
  });
  const on = (id, f) => document.getElementById(id).addEventListener("click", f);
  on("ts-expand-all", () => { v.expandAll(); v.fit(); });
  on("ts-collapse", () => v.reset());
  on("ts-fit", () => v.fit());
  on("ts-export-svg", () => download(new Blob([exportSVGText(v)], { type: "image/svg+xml" }), data.title + ".svg"));
  on("ts-export-png", () => exportPNG(v).then((blob) => download(blob, data.title + ".png")));
  const hidden = data.hidden ? `, ${data.hidden} hidden` : "";
  document.getElementById("ts-totals").textContent =
    `${fmtCount(data.totals.params)} params · ${fmtSI(data.totals.macs)}MACs · ${data.ops.length} ops${hidden}`;
}

function download(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name.replace(/[^\w.-]+/g, "_");
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function hooks(v) {
  // A module called several times has a node per call: a path names its first call.
  const byPath = new Map();
  for (const n of v.tree.moduleNodes) if (!byPath.has(v.data.modules[n.mod].p)) byPath.set(v.data.modules[n.mod].p, n);
  const timed = (f) => (...args) => { const t0 = performance.now(); f(...args); return performance.now() - t0; };
  const api = {
    viewer: v,
    expandAll: timed(() => v.expandAll()),
    reset: timed(() => v.reset()),
    expand: timed((path) => { const n = byPath.get(path); reveal(n); n.expanded = true; v.render(); }),
    collapse: timed((path) => { byPath.get(path).expanded = false; v.render(); }),
    expandRuns: timed(() => { for (const n of v.tree.nodes) if (n.kind === "run") { reveal(n); n.expanded = true; } v.render(); }),
    search: (q) => v.search(q),
    select: (path) => { const n = byPath.get(path); reveal(n); v.render(); v.select(n); v.centerOn(n); },
    stats: () => ({ ...v.stats, lastMs: v.lastMs, expanded: v.tree.nodes.filter((n) => n.children && n.expanded).length }),
    exportSVG: () => exportSVGText(v),
    // The drawn edges as [from, to] labels, and the zoom, for tests of what is on screen.
    drawnEdges: () => v.drawnPairs.map(([a, b]) => [a.id, b.id, a.label, b.label]),
    view: () => ({ k: v.view.k, x: v.view.x, y: v.view.y, width: v.size[0], height: v.size[1] }),
    // For the benchmark: time an action until the browser has painted its result.
    painted: async (action, ...args) => {
      const t0 = performance.now();
      api[action](...args);
      await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
      return performance.now() - t0;
    },
    uncachedLayouts: () => { v.layouts = new Layouts({ share: false }); },
    flatLayoutMs: () => flatLayoutMs(v.tree),
    exportPNG: () => exportPNG(v).then((b) => b.size),
  };
  return api;
}

function main() {
  const data = JSON.parse(document.getElementById("ts-data").textContent);
  const style = document.createElement("style");
  style.textContent = SVG_STYLE;
  document.head.append(style);
  const v = new Viewer(data);
  legend(data);
  v.render();
  v.fit();
  v.select(null);
  wirePanZoom(v);
  wireControls(v, data);
  followSize(v);
  window.__torchscope = hooks(v);
  window.__torchscope.firstRenderMs = performance.now();
  window.__torchscope.ready = true;
  requestAnimationFrame(() => setTimeout(() => { window.__torchscope.firstPaintMs = performance.now(); }, 0));
}

main();
