// Number formatting and escaping shared by the SVG renderer and the details panel.
// Pure (no DOM): tested under node (test/format.test.js).

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

// Every model-derived string goes through this before it enters SVG/HTML markup.
export function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export function fmtCount(n) {
  return Number(n).toLocaleString("en-US");
}

export function fmtSI(n, unit = "") {
  for (const [f, p] of [[1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "K"]]) {
    if (Math.abs(n) >= f) return `${(n / f).toFixed(2)} ${p}${unit}`;
  }
  // below 1,000 a fraction keeps 3 significant digits (a colour scale in ms: 0.0421)
  const small = Number.isInteger(n) ? n : Number(Number(n).toPrecision(3));
  return `${small}${unit ? " " + unit : ""}`;
}

export function fmtBytes(n) {
  for (const [f, p] of [[2 ** 40, "TiB"], [2 ** 30, "GiB"], [2 ** 20, "MiB"], [2 ** 10, "KiB"]]) {
    if (Math.abs(n) >= f) return `${(n / f).toFixed(2)} ${p}`;
  }
  return `${Math.round(n)} B`;
}

// "in_features=8, kernel_size=(3, 3), bias=True" → [["in_features","8"], …], respecting brackets.
export function splitAttributes(extra) {
  const parts = [];
  let depth = 0, start = 0;
  for (let i = 0; i <= extra.length; i++) {
    const c = extra[i];
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if ((c === "," && depth === 0) || i === extra.length) {
      const part = extra.slice(start, i).trim();
      if (part) {
        const eq = part.indexOf("=");
        parts.push(eq > 0 ? [part.slice(0, eq).trim(), part.slice(eq + 1).trim()] : ["", part]);
      }
      start = i + 1;
    }
  }
  return parts;
}

// A name cut to `limit` characters by dropping its middle: the start (where in the model)
// and the end (which layer, c_attn or c_proj) are what tell two names apart.
export function shortenMiddle(text, limit) {
  const s = String(text);
  if (s.length <= limit) return s;
  const keep = Math.max(limit - 1, 2);
  const head = Math.floor(keep / 2);
  return s.slice(0, head) + "…" + s.slice(s.length - (keep - head));
}
