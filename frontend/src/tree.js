// The display tree: calls of modules, rolled-up repeat runs, ops and graph inputs/outputs
// as one hierarchy. Each group knows the edges between its own children (computed once
// here), so laying out a group never needs to look outside it. Pure: no DOM, tested under
// node (test/tree.test.js).
//
// The data's short keys, written and documented in src/torchscope/render/viewer_data.py:
//   modules[i]: p path, t type, x extra_repr, st settings, par parent, np params, tp
//     trainable, pb param bytes, nb buffers, mc MACs (all calls), ab activation bytes,
//     c calls, i/o first call's input/output shapes, k op kind, s signature id, tied,
//     vr settings that differ across a rolled run
//   scopes[j] (one call; 0 is the root): m module, c call number (0: container), par,
//     ch child scopes in run order, ops visible ops, r runs [[first, last]] in ch,
//     o order, mc/ab this call's MACs and activation bytes, out its output shapes,
//     v colour position 0–1, cv value
//   ops[n]: n name, t target, m module, sc scope, i/o shapes [[text, dtype]], pr params,
//     mc, ab, a aten ops, u uncounted, k kind, h hidden as trivia, v, cv
//   edges [src, dst] as op<N> / input<N> / output<N>; inputs/outputs [name, shape, dtype]
import { fmtSI } from "./format.js";

const GROUP_IO_OVER = 6;

export function moduleName(path) {
  if (!path) return "";
  const dot = path.lastIndexOf(".");
  return dot < 0 ? path : path.slice(dot + 1);
}

const byOrder = (x, y) => (x.order > y.order) - (x.order < y.order);

// "pool (call 2)" for one call of a module called more than once, as in the static graph.
export function callLabel(name, call, calls) {
  return calls > 1 && call > 0 ? `${name} (call ${call})` : name;
}

// What a collapsed module shows without a click: its params and this call's output shape.
export function moduleInfo(m, scope, count = 1) {
  const parts = [];
  if (m.np) parts.push(`${count > 1 ? "each " : ""}${fmtSI(m.np)} params`);
  if (scope.out.length) parts.push(scope.out[0][0]);
  return parts.join(" · ");
}

// The settings that differ between a rolled run's copies (a dropout rate), on its node.
export function varies(m) {
  if (!m.vr || !m.vr.length) return "";
  return `varies: ${m.vr[0]}${m.vr.length > 1 ? ` +${m.vr.length - 1}` : ""}`;
}

// Reads data.scopes (one per call of a module, see viewer_data.py for the keys): each
// scope is a group whose children are its child calls, rolled-up runs and its own ops.
export function buildTree(data) {
  const mods = data.modules;
  const scopes = data.scopes;
  const nodes = [];
  const moduleNodes = [];
  const opNodes = new Array(data.ops.length);
  const make = (props, parent, order) => {
    const node = {
      id: nodes.length, parent, order, children: null, expanded: false,
      depth: parent ? parent.depth + 1 : 0, ...props,
    };
    nodes.push(node);
    return node;
  };

  function buildScope(si, parent) {
    const s = scopes[si];
    const m = mods[s.m];
    const label = parent ? callLabel(moduleName(m.p), s.c, m.c) : data.title;
    const type = parent || label !== m.t ? m.t : "";
    const sub = m.st ? `${type} · ${m.st}` : type;
    const node = make({ kind: "module", mod: s.m, scope: si, call: s.c, label, sub, type,
      info: parent ? moduleInfo(m, s) : "", sig: "s" + m.s }, parent, s.o);
    moduleNodes.push(node);
    const children = [];
    const inRun = new Map(s.r.map(([a, b]) => [a, b]));
    for (let pos = 0; pos < s.ch.length; pos++) {
      const last = inRun.get(pos);
      if (last === undefined) {
        children.push(buildScope(s.ch[pos], node));
        continue;
      }
      const members = s.ch.slice(pos, last + 1);
      const a = mods[scopes[members[0]].m], b = mods[scopes[members[members.length - 1]].m];
      const listName = moduleName(m.p);
      const name = `${listName ? listName + "." : ""}${moduleName(a.p)}-${moduleName(b.p)}`;
      const first = scopes[members[0]];
      const run = make(
        { kind: "run", mod: first.m, scope: members[0], call: first.c, count: members.length,
          label: callLabel(name, first.c, a.c), sub: a.st ? `${a.t} · ${a.st}` : a.t, type: a.t,
          info: moduleInfo(a, first, members.length), note: varies(a),
          sig: `r${a.s}x${members.length}@${moduleName(a.p)}` },
        node, first.o,
      );
      run.children = members.map((c) => buildScope(c, run));
      children.push(run);
      pos = last;
    }
    for (const o of s.ops) {
      const op = data.ops[o];
      opNodes[o] = make({ kind: "op", op: o, label: op.n, sub: op.o.length ? op.o[0][0] : "" }, node, o);
      children.push(opNodes[o]);
    }
    children.sort(byOrder);
    node.children = children.length ? children : null;
    return node;
  }

  const root = buildScope(0, null);
  root.expanded = true;
  if (!root.children) root.children = [];
  const io = { input: [], output: [] };
  addIO(data.inputs, "input", -1);
  addIO(data.outputs, "output", Infinity);

  function addIO(list, kind, order) {
    let parent = root;
    if (list.length > GROUP_IO_OVER) {
      parent = make({ kind: "iogroup", label: kind + "s", sub: `${list.length} tensors`, count: list.length,
        sig: `io${kind}${list.length}`, children: [] }, root, order);
      root.children.push(parent);
    }
    list.forEach(([name, shape, dtype], k) => {
      const node = make({ kind: "io", io: kind, index: k, label: name, sub: shape, dtype }, parent,
        order === Infinity ? 1e15 + k : -1e15 + k);
      io[kind].push(node);
      if (parent === root) root.children.push(node);
      else parent.children.push(node);
    });
  }
  root.children.sort(byOrder);

  const leafOf = (key) => {
    if (key.startsWith("op")) return opNodes[+key.slice(2)];
    if (key.startsWith("input")) return io.input[+key.slice(5)];
    if (key.startsWith("output")) return io.output[+key.slice(6)];
    return undefined;
  };
  const edges = [];
  for (const [s, d] of data.edges) {
    const a = leafOf(s), b = leafOf(d);
    if (a && b && a !== b) edges.push([a, b]);
  }
  attachGroupEdges(nodes, edges);
  return { nodes, root, moduleNodes, opNodes, io, edges };
}

// For every edge, the lowest common group of its two ends holds an edge between the two
// children of that group that contain them.
function attachGroupEdges(nodes, edges) {
  for (const n of nodes) {
    if (!n.children) continue;
    n.children.forEach((c, i) => { c.pos = i; });
    n.gedges = new Map();
  }
  for (const [a0, b0] of edges) {
    let a = a0, b = b0;
    while (a.depth > b.depth) a = a.parent;
    while (b.depth > a.depth) b = b.parent;
    while (a.parent !== b.parent) { a = a.parent; b = b.parent; }
    if (a === b) continue;
    const key = a.pos + "," + b.pos;
    if (!a.parent.gedges.has(key)) a.parent.gedges.set(key, [a.pos, b.pos]);
  }
  for (const n of nodes) {
    if (!n.children) continue;
    // Everything a child's drawn size depends on: its texts and its repeat count.
    const labels = n.children
      .map((c) => [c.kind[0] + c.label, c.sub, c.info, c.note, c.count].join("\u0004"))
      .join("\u0001");
    n.staticKey = n.sig + "\u0002" + labels + "\u0002" + [...n.gedges.keys()].join(";");
  }
}

// The deepest node on a leaf's path whose ancestors are all expanded: what is drawn for it.
export function visibleOf(leaf) {
  let top = leaf;
  for (let p = leaf.parent; p; p = p.parent) if (!p.expanded) top = p;
  return top;
}

export function isVisible(node) {
  for (let p = node.parent; p; p = p.parent) if (!p.expanded) return false;
  return true;
}
