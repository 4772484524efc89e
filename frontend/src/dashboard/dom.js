// DOM building without markup: every string from a run or a model (run, metric, module and
// config names and values) reaches the page as text (textContent), never as HTML.

export function el(tag, props, ...children) {
  const e = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = String(v);
      else if (k === "dataset") Object.assign(e.dataset, v);
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

// A <select> of [value, label] pairs with one selected.
export function select(options, value, onChange, props = {}) {
  const s = el("select", props);
  for (const [v, label] of options) s.append(el("option", { value: v, selected: v === value }, label));
  s.addEventListener("change", () => onChange(s.value));
  return s;
}

export function download(blob, name) {
  const a = el("a", { href: URL.createObjectURL(blob), download: safeFileName(name) });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export function safeFileName(name) {
  return String(name).replace(/[^\w.-]+/g, "_").slice(0, 120) || "torchscope";
}

// Run something once the browser has painted what was just drawn.
export function afterPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}
