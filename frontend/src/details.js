// The details panel for the selected node, built with DOM text nodes (never innerHTML).
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

function moduleRows(m, count) {
  const per = count > 1 ? ` (×${count} = ${fmtCount(m.np * count)})` : "";
  return [
    ["Path", m.p || "(root)"],
    ["Type", m.t],
    ["Parameters", fmtCount(m.np) + per],
    ["Trainable", fmtCount(m.tp)],
    ["Param memory", fmtBytes(m.pb)],
    ["Buffers", m.nb ? fmtCount(m.nb) : ""],
    ["MACs", m.mc ? `${fmtSI(m.mc)} (FLOPs ${fmtSI(2 * m.mc)})` : "0"],
    ["Activation memory", fmtBytes(m.ab)],
    ["Calls", m.c],
    ["Inputs", shapes(m.i)],
    ["Outputs", shapes(m.o)],
    ["Colour value", m.v !== undefined ? fmtSI(m.v) : ""],
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
    ["Colour value", op.v !== undefined ? fmtSI(op.v) : ""],
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
    panel.append(table(moduleRows(m, node.count || 1)));
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
