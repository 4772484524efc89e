// The details panel for the selected node, built with DOM text nodes (never innerHTML).
// Data keys: see the table at the top of tree.js (written by viewer_data.py).
import { fmtBytes, fmtCount, fmtSI, splitAttributes } from "./format.js";

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function table(rows) {
  const t = el("table", "ts-kv");
  for (const [k, v] of rows) {
    if (v === undefined || v === null || v === "") continue;
    const tr = el("tr");
    tr.append(el("th", "", k), el("td", "", String(v)));
    t.append(tr);
  }
  return t;
}

const shapes = (list) => (list.length ? list.map(([s, d]) => `${s} ${d}`).join("\n") : "-");

// Figures of one call (s) of a module (m); for a run, per copy with the total of `count`.
function moduleRows(m, s, count) {
  const total = (n, f) => (count > 1 ? ` each (×${count} = ${f(n * count)})` : "");
  const macs = (n) => (n ? `${fmtSI(n)} (FLOPs ${fmtSI(2 * n)})` : "0");
  return [
    ["Path", m.p || "(root)"],
    ["Type", m.t],
    ["Call", m.c > 1 && s.c ? `${s.c} of ${m.c}` : ""],
    ["Settings", m.st],
    ["Parameters", fmtCount(m.np) + total(m.np, fmtCount) + (m.c > 1 && m.np ? `, shared by ${m.c} calls` : "")],
    ["Trainable", fmtCount(m.tp)],
    ["Param memory", fmtBytes(m.pb)],
    ["Buffers", m.nb ? fmtCount(m.nb) : ""],
    ["MACs", macs(s.mc) + total(s.mc, fmtSI)],
    ["MACs, all calls", m.c > 1 ? macs(m.mc) : ""],
    ["Activation memory", fmtBytes(s.ab)],
    ["Calls", m.c],
    ["Inputs", s.c <= 1 ? shapes(m.i) : ""],
    ["Outputs", shapes(s.out)],
    ["Colour value", s.cv !== undefined ? fmtSI(s.cv) : ""],
  ];
}

function opRows(op, data) {
  return [
    ["Op", op.n],
    ["Function", op.t],
    ["Module", data.modules[op.m].p || "(root)"],
    ["Inputs", shapes(op.i)],
    ["Outputs", shapes(op.o)],
    ["Parameters used", op.pr.join("\n")],
    ["MACs", op.mc ? `${fmtSI(op.mc)} (FLOPs ${fmtSI(2 * op.mc)})` : "0"],
    ["Activation memory", fmtBytes(op.ab)],
    ["Aten ops", op.a.join("\n")],
    ["Not counted", (op.u || []).join("\n")],
    ["Colour value", op.cv !== undefined ? fmtSI(op.cv) : ""],
  ];
}

export function showDetails(panel, node, data, kindNames) {
  panel.replaceChildren();
  if (!node) {
    panel.append(el("p", "ts-hint", "Click a node for details; click a module to expand or collapse it."));
    return;
  }
  const head = el("div", "ts-dhead");
  const kindName = node.kind === "run" ? `repeated ×${node.count}` : node.kind;
  head.append(el("span", "ts-dkind", kindName), el("h2", "", node.label));
  panel.append(head);
  if (node.kind === "op") {
    const op = data.ops[node.op];
    panel.append(el("p", "ts-dsub", kindNames[op.k]), table(opRows(op, data)));
    return;
  }
  if (node.kind === "module" || node.kind === "run") {
    const m = data.modules[node.mod];
    if (node.kind === "run") panel.append(el("p", "ts-dsub", `Figures are per copy of ${node.count} identical modules.`));
    panel.append(table(moduleRows(m, data.scopes[node.scope], node.count || 1)));
    if (node.kind === "run" && m.vr) panel.append(el("h3", "", "Differs between copies"), table(m.vr.map((v) => ["·", v])));
    const attrs = splitAttributes(m.x || "");
    if (attrs.length) {
      panel.append(el("h3", "", "Attributes"), table(attrs.map(([k, v]) => [k || "·", v])));
    }
    if (m.tied) panel.append(el("h3", "", "Tied"), table(Object.entries(m.tied)));
    return;
  }
  if (node.kind === "io") panel.append(table([["Tensor", node.label], ["Shape", node.sub], ["Dtype", node.dtype], ["Role", node.io]]));
  else panel.append(table([["Tensors", node.count]]));
}
