// Scales and ticks, pure functions (no DOM): a domain mapped onto pixels, linearly or in
// log10, and "nice" tick values (1, 2, 5 × 10^k) for either.
export function scale(d0, d1, r0, r1, log = false) {
  const f = log ? (v) => Math.log10(v) : (v) => v;
  const a = f(d0), b = f(d1);
  const k = b === a ? 0 : (r1 - r0) / (b - a);
  const map = (v) => r0 + (f(v) - a) * k;
  map.invert = (p) => {
    const v = k === 0 ? a : a + (p - r0) / k;
    return log ? 10 ** v : v;
  };
  return map;
}

export function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function logTicks(lo, hi) {
  const a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi));
  const every = Math.max(1, Math.ceil((b - a) / 6));
  const out = [];
  for (let e = a; e <= b; e += every) {
    const v = Number(`1e${e}`); // exact (10 ** -4 is 0.00009999999999999999)
    if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
  }
  // a range of a decade or two gets 2× and 5× ticks too, or it would have one label
  if (out.length < 3) for (const m of [2, 5]) for (let e = a; e <= b; e++) {
    const v = Number(`${m}e${e}`);
    if (v >= lo && v <= hi) out.push(v);
  }
  return out.sort((x, y) => x - y);
}

// Padded [lo, hi] of the finite values (positive only on a log axis).
export function extent(values, log = false) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (v === null || v === undefined || !Number.isFinite(v) || (log && v <= 0)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return log ? [0.1, 10] : [0, 1];
  if (log) return lo === hi ? [lo / 2, hi * 2] : [lo / 1.15, hi * 1.15];
  if (lo === hi) return [lo - (Math.abs(lo) || 1) * 0.1, hi + (Math.abs(hi) || 1) * 0.1];
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

// Index of the largest x[i] <= v (0 if none), x sorted ascending.
export function below(x, v) {
  let lo = 0, hi = x.length - 1, best = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (x[mid] <= v) { best = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return best;
}

// Index of the x nearest to v, x sorted ascending.
export function nearest(x, v) {
  if (!x.length) return -1;
  const i = below(x, v);
  return i + 1 < x.length && Math.abs(x[i + 1] - v) < Math.abs(x[i] - v) ? i + 1 : i;
}
