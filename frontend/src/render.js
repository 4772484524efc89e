// The visible graph as SVG markup: group boxes, then edges, then nodes. Positions come from
// the cached per-group layouts; every model-derived string is escaped with esc().
// Data keys: see the table at the top of tree.js (written by viewer_data.py).
import { colorFor } from "./colors.js";
import { esc, shortenMiddle } from "./format.js";
import { HEADER, PAD, collapsedSize, groupSize } from "./layout.js";

const MAX_LABEL = 38;
const MAX_SUB = 48; // the type, settings and info lines (smaller monospace text)

// A node's fill and whether its text is white: by op kind, or the value's ramp step.
export function makeColors(data) {
  const legend = data.legend;
  const entry = (node) => {
    if (node.kind === "op") return data.ops[node.op];
    if (node.kind === "module" || node.kind === "run") return data.scopes[node.scope];
    return null;
  };
  if (legend.mode === "kind") {
    const kinds = legend.kinds.map((k) => k[1]);
    return (node) => {
      if (node.kind === "op") return { fill: kinds[data.ops[node.op].k], light: false };
      if (node.kind === "module" || node.kind === "run") return { fill: kinds[data.modules[node.mod].k], light: false };
      return { fill: "#ffffff", light: false };
    };
  }
  return (node) => {
    const e = entry(node);
    return e ? colorFor(legend, e.v) : { fill: "#ffffff", light: false };
  };
}

const clip = (s, limit = MAX_LABEL) => shortenMiddle(s, limit);

function nodeMarkup(n, x, y, w, h, color, cls) {
  const light = color.light ? " ts-light" : "";
  let s = `<g class="ts-n ts-${n.kind}${cls}${light}" data-id="${n.id}" transform="translate(${x.toFixed(1)},${y.toFixed(1)})">`;
  s += `<rect width="${w}" height="${h}" rx="${n.kind === "op" || n.kind === "io" ? 5 : 8}" fill="${color.fill}"/>`;
  const tall = h > 38;
  s += `<text class="ts-l" x="10" y="${tall ? 17 : 15}">${esc(clip(n.label))}</text>`;
  if (n.sub) s += `<text class="ts-s" x="10" y="${tall ? 33 : 28}">${esc(clip(n.sub, MAX_SUB))}</text>`;
  if (n.info) s += `<text class="ts-s ts-i" x="10" y="${tall ? 48 : 42}">${esc(clip(n.info, MAX_SUB))}</text>`;
  if (n.note) s += `<text class="ts-s ts-v" x="10" y="${tall ? 62 : 56}">${esc(clip(n.note, MAX_SUB))}</text>`;
  if (n.kind === "run") s += badge(w - (n.children ? 20 : 6), 4, n.count);
  if (n.children) s += `<text class="ts-plus" x="${w - 12}" y="16">+</text>`;
  return s + "</g>";
}

function badge(right, y, count) {
  const text = "×" + count;
  const w = 8 + 7 * text.length;
  return `<g class="ts-badge" transform="translate(${right - w},${y})"><rect width="${w}" height="15" rx="7.5"/><text x="${w / 2}" y="11.5">${text}</text></g>`;
}

function groupMarkup(n, x, y, w, h, cls) {
  let s = `<g class="ts-g ts-d${n.depth % 4}${cls}" data-id="${n.id}" transform="translate(${x.toFixed(1)},${y.toFixed(1)})">`;
  s += `<rect class="ts-gbox" width="${w}" height="${h}" rx="9"/>`;
  s += `<rect class="ts-ghead" width="${w}" height="${HEADER}" rx="9"/>`;
  s += `<text class="ts-gl" x="10" y="16">${n.depth ? "−  " : ""}${esc(clip(n.label))} <tspan class="ts-gt">${esc(clip(n.sub || ""))}</tspan></text>`;
  if (n.kind === "run") s += badge(w - 8, 5, n.count);
  return s + "</g>";
}

function curve(x1, y1, x2, y2) {
  const dy = Math.max(24, Math.abs(y2 - y1) / 2);
  return `M${x1.toFixed(1)} ${y1.toFixed(1)}C${x1.toFixed(1)} ${(y1 + dy).toFixed(1)} ${x2.toFixed(1)} ${(y2 - dy).toFixed(1)} ${x2.toFixed(1)} ${y2.toFixed(1)}`;
}

// A smooth path through dagre's bend points: straight ends, quadratic curves at bends.
function polyline(points, ox, oy) {
  const p = points.map(([x, y]) => [x + ox, y + oy]);
  const f = (v) => v.toFixed(1);
  let d = `M${f(p[0][0])} ${f(p[0][1])}`;
  for (let i = 1; i < p.length - 1; i++) {
    const mx = (p[i][0] + p[i + 1][0]) / 2, my = (p[i][1] + p[i + 1][1]) / 2;
    d += `Q${f(p[i][0])} ${f(p[i][1])} ${f(mx)} ${f(my)}`;
  }
  const last = p[p.length - 1];
  return d + `L${f(last[0])} ${f(last[1])}`;
}

// Place every visible node (absolute ax, ay, w, h) and return the SVG body and its size.
export function renderGraph(tree, colorOf, hits, selected) {
  const boxes = [], nodes = [], edges = [];
  const placed = [];
  const cls = (n) => (hits.has(n.id) ? " ts-hit" : "") + (n === selected ? " ts-sel" : "");
  const walk = (g, x, y) => {
    const [w, h] = groupSize(g.layout);
    Object.assign(g, { ax: x, ay: y, w, h });
    boxes.push(groupMarkup(g, x, y, w, h, cls(g)));
    const { pos, sizes } = g.layout;
    g.children.forEach((c, i) => {
      const cx = x + PAD + pos[2 * i], cy = y + HEADER + pos[2 * i + 1];
      if (c.expanded && c.children) return walk(c, cx, cy);
      const [cw, ch] = sizes[i] || collapsedSize(c);
      Object.assign(c, { ax: cx, ay: cy, w: cw, h: ch });
      placed.push(c);
      nodes.push(nodeMarkup(c, cx, cy, cw, ch, colorOf(c), cls(c)));
    });
  };
  walk(tree.root, 0, 0);
  const pairs = drawEdges(tree, edges);
  const svg = `<g class="ts-boxes">${boxes.join("")}</g><g class="ts-edges">${edges.join("")}</g><g class="ts-nodes">${nodes.join("")}</g>`;
  return { svg, width: tree.root.w, height: tree.root.h, nodeCount: placed.length, edgeCount: edges.length, pairs };
}

// Draws each edge between visible nodes once; returns the [from, to] node pairs drawn.
function drawEdges(tree, out) {
  const pairs = [];
  const vis = new Map();
  const visibleOf = (leaf) => {
    let v = vis.get(leaf);
    if (v === undefined) {
      v = leaf;
      for (let p = leaf.parent; p; p = p.parent) if (!p.expanded) v = p;
      vis.set(leaf, v);
    }
    return v;
  };
  const seen = new Set();
  const n = tree.nodes.length;
  for (const [a0, b0] of tree.edges) {
    const a = visibleOf(a0), b = visibleOf(b0);
    if (a === b) continue;
    const key = a.id * n + b.id;
    if (seen.has(key)) continue;
    seen.add(key);
    pairs.push([a, b]);
    const cross = a.parent !== b.parent;
    let d;
    if (!cross) {
      const p = a.parent;
      const pts = p.layout.points.get(a.pos + "," + b.pos);
      if (pts) d = polyline(pts, p.ax + PAD, p.ay + HEADER);
    }
    if (!d) d = curve(a.ax + a.w / 2, a.ay + a.h, b.ax + b.w / 2, b.ay);
    const cls = b.kind === "iogroup" || b.kind === "io" ? "ts-e ts-o" : cross ? "ts-e ts-x" : "ts-e";
    out.push(`<path class="${cls}" d="${d}"/>`);
  }
  return pairs;
}
