// Colours of the report's charts: seaborn's "deep" palette for series (the matplotlib
// figures of the same page use it too), a dash per split, and a viridis ramp for heatmaps.
export const PALETTE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"];
export const DASHES = { train: null, val: "7 4", validation: "7 4", test: "2 3", other: "9 3 2 3" };
export const MARK_COLORS = { nonfinite: "#dc143c", exploding: "#ff8c00", vanishing: "#4169e1", event: "#dc143c" };

// The dash pattern of a split's line: solid for train (and for series without a split).
export function dashOf(split) {
  if (!split) return null;
  return split in DASHES ? DASHES[split] : DASHES.other;
}

export function color(i) {
  return PALETTE[((i || 0) % PALETTE.length + PALETTE.length) % PALETTE.length];
}

const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

// t in [0, 1] → [r, g, b] on viridis (clamped).
export function ramp(t) {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x)), f = x - i;
  return VIRIDIS[i].map((a, k) => Math.round(a + (VIRIDIS[i + 1][k] - a) * f));
}

export const RAMP_CSS = `linear-gradient(to right, ${VIRIDIS.map((c) => `rgb(${c.join(",")})`).join(", ")})`;
