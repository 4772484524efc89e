// One colour per run, the same on every page and after a reload: runs are numbered in the
// order they started (new runs come last, so existing runs keep their colour).

const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  "#bcbd22", "#7f7f7f", "#393b79", "#e6550d", "#31a354", "#843c39", "#7b4173", "#3182bd",
  "#fd8d3c", "#74c476", "#ad494a", "#a55194",
];

export function runColors(runs) {
  const order = [...runs].sort((a, b) => (a.start_time ?? 0) - (b.start_time ?? 0) || (a.id < b.id ? -1 : 1));
  const map = new Map();
  order.forEach((r, i) => map.set(r.id, PALETTE[i % PALETTE.length]));
  return map;
}

export function withAlpha(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

// Where a value sits on a scale, 0–1, as Python's ColorScale.position (analysis/color_scale.py):
// log10 when `log`, clipped; 0 for values ≤ 0 on a log scale.
export function colorPosition(v, lo, hi, log) {
  if (log) {
    if (!(v > 0)) return 0;
    [lo, hi, v] = [Math.log10(lo), Math.log10(hi), Math.log10(v)];
  }
  if (!(hi > lo)) return 1;
  return Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
}
