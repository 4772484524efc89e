// Colours for values: the positions (0–1) come from Python's one ColorScale; here they only
// pick a step of the one ramp the data carries, exactly as the static graph does.
// Pure (no DOM): tested under node (test/colors.test.js).

export const NO_VALUE = "#f8fafc";

// The ramp step for a position: round(v · (steps − 1)), as render/color_ramp.py.
export function rampStep(ramp, v) {
  return Math.round(Math.min(1, Math.max(0, v)) * (ramp.length - 1));
}

// { fill, light }: light is true where the text must be white (the dark steps).
export function colorFor(legend, v) {
  if (v === undefined || v === null || !Number.isFinite(v)) return { fill: NO_VALUE, light: false };
  const step = rampStep(legend.ramp, v);
  return { fill: legend.ramp[step], light: step >= legend.dark };
}

// The legend's bar: one hard-edged band per step, as the nodes are coloured.
export function rampCSS(ramp) {
  const n = ramp.length;
  const stops = ramp.map((c, i) => `${c} ${((100 * i) / n).toFixed(2)}% ${((100 * (i + 1)) / n).toFixed(2)}%`);
  return `linear-gradient(to right, ${stops.join(", ")})`;
}
