// The display tree: modules, rolled-up repeat runs, ops and graph inputs/outputs as one
// hierarchy. Each group knows the edges between its own children (computed once here), so
// laying out a group never needs to look outside it.

const GROUP_IO_OVER = 6;

export function moduleName(path) {
  if (!path) return "";
  const dot = path.lastIndexOf(".");
  return dot < 0 ? path : path.slice(dot + 1);
}

function subtreeFirstOps(mods) {
  // Modules come parents-first, so walking backwards sees children before parents.
  const first = new Float64Array(mods.length).fill(Infinity);
  for (let i = mods.length - 1; i >= 0; i--) {
    let f = Infinity;
    for (const o of mods[i].ops) if (o < f) f = o;
    for (const c of mods[i].ch) if (first[c] < f) f = first[c];
    first[i] = f;
  }
  return first;
}

const byOrder = (x, y) => (x.order > y.order) - (x.order < y.order);

export function buildTree(data) {
  const mods = data.modules;
  const nodes = [];
  const moduleNodes = new Array(mods.length);
  const opNodes = new Array(data.ops.length);
  const first = subtreeFirstOps(mods);
  const make = (props, parent, order) => {
    const node = {
      id: nodes.length, parent, order, children: null, expanded: false,
      depth: parent ? parent.depth + 1 : 0, ...props,
    };
    nodes.push(node);
    return node;
  };

  function buildModule(i, parent) {
    const m = mods[i];
    const label = parent ? moduleName(m.p) : data.title;
    const sub = parent || label !== m.t ? m.t : "";
    const node = make({ kind: "module", mod: i, label, sub, sig: "s" + m.s }, parent, first[i]);
    moduleNodes[i] = node;
    const children = [];
    const inRun = new Map(m.r.map(([a, b]) => [a, b]));
    for (let pos = 0; pos < m.ch.length; pos++) {
      const last = inRun.get(pos);
      if (last === undefined) {
        children.push(buildModule(m.ch[pos], node));
        continue;
      }
      const members = m.ch.slice(pos, last + 1);
      const a = mods[members[0]], b = mods[members[members.length - 1]];
      const listName = moduleName(m.p);
      const label = `${listName ? listName + "." : ""}${moduleName(a.p)}-${moduleName(b.p)}`;
      const run = make(
        { kind: "run", mod: members[0], mods: members, count: members.length, label, sub: a.t,
          sig: `r${a.s}x${members.length}@${moduleName(a.p)}` },
        node, first[members[0]],
      );
      run.children = members.map((c) => buildModule(c, run));
      children.push(run);
      pos = last;
    }
    for (const o of m.ops) {
      const op = data.ops[o];
      opNodes[o] = make({ kind: "op", op: o, label: op.n, sub: op.o.length ? op.o[0][0] : "" }, node, o);
      children.push(opNodes[o]);
    }
    children.sort(byOrder);
    node.children = children.length ? children : null;
    return node;
  }

  const root = buildModule(0, null);
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
    const labels = n.children.map((c) => c.kind[0] + c.label + (c.count || "")).join("\u0001");
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
