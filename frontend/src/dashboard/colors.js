// One colour per run, the same on every page and after a reload: runs are numbered in the
// order they started (new runs come last, so existing runs keep their colour).

const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  "#bcbd22", "#7f7f7f", "#393b79", "#e6550d", "#31a354", "#843c39", "#7b4173", "#3182bd",
  "#fd8d3c", "#74c476", "#ad494a", "#a55194",
];

export function runColours(runs) {
  const order = [...runs].sort((a, b) => (a.start_time ?? 0) - (b.start_time ?? 0) || (a.id < b.id ? -1 : 1));
  const map = new Map();
  order.forEach((r, i) => map.set(r.id, PALETTE[i % PALETTE.length]));
  return map;
}

export function withAlpha(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

// A sequential ramp (viridis-like) for heatmaps: t in [0, 1] → colour.
const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
export function ramp(t) {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x)), f = x - i;
  const c = RAMP[i].map((v, k) => Math.round(v + (RAMP[i + 1][k] - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}
export const RAMP_CSS = `linear-gradient(to right, ${RAMP.map((c) => `rgb(${c})`).join(", ")})`;
