// Layout per expanded group, cached. A group's layout depends only on its own children,
// their sizes and the edges between them; a collapsed child has a fixed size, an expanded
// one the size of its own (cached) layout. Expanding one node therefore lays out that node
// and re-lays out its ancestors, each of which has few children. Identical groups (the 80
// decoder layers) share one cache entry through their structure key.
import { graphlib, layout as dagreLayout } from "@dagrejs/dagre";

export const PAD = 10;
export const HEADER = 24;
const NODE_H = { op: 34, io: 34, module: 42, run: 42, iogroup: 42 };
const INFO_H = 14; // a module's third line: params and output shape
const MIN_W = 64;
const MAX_W = 340;

// Text widths from a canvas in the browser; under node (tests) a fixed-pitch estimate.
let measure = null;
const widths = new Map();
export function setTextMeasure(fn) {
  measure = fn;
  widths.clear();
}
function canvasMeasure() {
  if (typeof document === "undefined") return (text, font) => text.length * (font.includes("12px") ? 7 : 6.6);
  const ctx = document.createElement("canvas").getContext("2d");
  return (text, font) => {
    ctx.font = font;
    return ctx.measureText(text).width;
  };
}
export function textWidth(text, font) {
  const key = font + "\u0000" + text;
  let w = widths.get(key);
  if (w === undefined) {
    measure ||= canvasMeasure();
    w = measure(text, font);
    widths.set(key, w);
  }
  return w;
}

export const FONT_LABEL = "600 12px system-ui, -apple-system, 'Segoe UI', sans-serif";
export const FONT_SUB = "11px ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace";

export function collapsedSize(node) {
  const badge = node.kind === "run" ? 12 + 7 * String(node.count).length : 0;
  const plus = node.children ? 14 : 0;
  const w = Math.max(
    textWidth(node.label, FONT_LABEL) + badge + plus,
    textWidth(node.sub || "", FONT_SUB),
    textWidth(node.info || "", FONT_SUB),
    textWidth(node.note || "", FONT_SUB),
  ) + 20;
  const h = (NODE_H[node.kind] || 36) + (node.info ? INFO_H : 0) + (node.note ? INFO_H : 0);
  return [Math.min(MAX_W, Math.max(MIN_W, Math.ceil(w))), h];
}

export class Layouts {
  // share: identical groups (same structure key) reuse one layout; off only for benchmarks.
  constructor({ share = true } = {}) {
    this.share = share;
    this.cache = new Map(); // interned key → layout
    this.keys = new Map(); // key text → small integer
    this.computed = 0; // dagre runs, for tests and the benchmark
    this.ms = 0; // time spent in them
  }

  intern(text) {
    let id = this.keys.get(text);
    if (id === undefined) {
      id = this.keys.size;
      this.keys.set(text, id);
    }
    return id;
  }

  // Lay out `group` (expanded) and every expanded descendant; returns its layout.
  ensure(group) {
    let state = "";
    for (const c of group.children) state += c.expanded && c.children ? this.ensure(c).id + "," : "-,";
    const id = this.intern((this.share ? "" : group.id + "#") + group.staticKey + "\u0003" + state);
    let lay = this.cache.get(id);
    if (!lay) {
      lay = this.compute(group);
      lay.id = id;
      this.cache.set(id, lay);
    }
    group.layout = lay;
    return lay;
  }

  sizesOf(group) {
    return group.children.map((c) => (c.expanded && c.children ? groupSize(c.layout) : collapsedSize(c)));
  }

  compute(group) {
    this.computed++;
    const t0 = performance.now();
    try {
      return layoutGroup(group, this.sizesOf(group));
    } finally {
      this.ms += performance.now() - t0;
    }
  }
}

// Children placed by dagre (or by simpleLayout when the shape is trivial), relative to the
// group's content box, with the bend points of the edges between them.
export function layoutGroup(group, sizes) {
  const simple = simpleLayout(group, sizes);
  if (simple) return simple;
  const g = new graphlib.Graph();
  g.setGraph({ rankdir: "TB", nodesep: 16, ranksep: 26, edgesep: 8, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  sizes.forEach(([width, height], i) => g.setNode(String(i), { width, height }));
  for (const [a, b] of group.gedges.values()) g.setEdge(String(a), String(b));
  dagreLayout(g);
  const pos = new Float64Array(2 * sizes.length);
  sizes.forEach(([w, h], i) => {
    const n = g.node(String(i));
    pos[2 * i] = n.x - w / 2;
    pos[2 * i + 1] = n.y - h / 2;
  });
  const points = new Map();
  for (const e of g.edges()) points.set(e.v + "," + e.w, g.edge(e).points.map((p) => [p.x, p.y]));
  const graph = g.graph();
  const headerW = textWidth(group.label, FONT_LABEL) + textWidth(group.sub || "", FONT_SUB) + 56;
  return { w: Math.max(graph.width || 0, headerW, MIN_W), h: graph.height || 0, pos, sizes, points };
}

// Shapes that need no layout library: a chain (each child feeds the next, like the 80
// decoder layers of an expanded run) is a centred column; children with no edges between
// them (the KV-cache outputs) are a grid. Returns null for anything else.
export function simpleLayout(group, sizes) {
  const n = sizes.length;
  const edges = [...group.gedges.values()];
  const chain = n > 1 && edges.length === n - 1 && edges.every(([a, b]) => b === a + 1);
  if (!chain && edges.length) return null;
  // a roughly square grid: columns ≈ √(n · node height / node width)
  const avg = (k) => sizes.reduce((sum, size) => sum + size[k], 0) / n;
  const columns = chain ? 1 : Math.max(1, Math.ceil(Math.sqrt((n * avg(1)) / avg(0))));
  const colW = [], rowH = [];
  sizes.forEach(([w, h], i) => {
    const c = i % columns, r = Math.floor(i / columns);
    colW[c] = Math.max(colW[c] || 0, w);
    rowH[r] = Math.max(rowH[r] || 0, h);
  });
  const gapX = 16, gapY = chain ? 26 : 12;
  const colX = [], rowY = [];
  colW.reduce((x, w, c) => { colX[c] = x; return x + w + gapX; }, 0);
  rowH.reduce((y, h, r) => { rowY[r] = y; return y + h + gapY; }, 0);
  const pos = new Float64Array(2 * n);
  sizes.forEach(([w, h], i) => {
    const c = i % columns, r = Math.floor(i / columns);
    pos[2 * i] = colX[c] + (colW[c] - w) / 2;
    pos[2 * i + 1] = rowY[r] + (rowH[r] - h) / 2;
  });
  const points = new Map();
  for (const [a, b] of edges) {
    const x = colW[0] / 2;
    points.set(a + "," + b, [[x, pos[2 * a + 1] + sizes[a][1]], [x, pos[2 * b + 1]]]);
  }
  const w = colW.reduce((s, v) => s + v, 0) + gapX * (colW.length - 1);
  const h = rowH.reduce((s, v) => s + v, 0) + gapY * (rowH.length - 1);
  const headerW = textWidth(group.label, FONT_LABEL) + textWidth(group.sub || "", FONT_SUB) + 56;
  return { w: Math.max(w, headerW, MIN_W), h, pos, sizes, points };
}

export function groupSize(lay) {
  return [lay.w + 2 * PAD, lay.h + HEADER + PAD];
}

// The baseline a viewer without per-group layout pays on "expand all": one dagre layout of
// every op of the flat graph. Used by the benchmark only: { ms, error }.
export function flatLayoutMs(tree) {
  const t0 = performance.now();
  const g = new graphlib.Graph();
  g.setGraph({ rankdir: "TB", nodesep: 16, ranksep: 26, edgesep: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  const leaves = tree.nodes.filter((n) => n.kind === "op" || n.kind === "io");
  for (const n of leaves) {
    const [width, height] = collapsedSize(n);
    g.setNode(String(n.id), { width, height });
  }
  for (const [a, b] of tree.edges) g.setEdge(String(a.id), String(b.id));
  try {
    dagreLayout(g);
    return { ms: performance.now() - t0, error: null };
  } catch (e) {
    return { ms: performance.now() - t0, error: String(e) };
  }
}
