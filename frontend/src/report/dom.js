// DOM helpers of the report's charts. Text enters the page only as text nodes or
// attribute values set through the DOM (never as markup), so a hostile layer or metric
// name read from the embedded JSON stays inert.
const SVG_NS = "http://www.w3.org/2000/svg";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAll(node, attrs);
  node.append(...children);
  return node;
}

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAll(node, attrs);
  node.append(...children);
  return node;
}

function setAll(node, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = String(v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, String(v));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

// The pointer position in an element's own pixels.
export function pointer(event, node) {
  const r = node.getBoundingClientRect();
  return [event.clientX - r.left, event.clientY - r.top];
}
