// Numbers as the report writes them: 4 significant digits, exponents for the very large
// and very small, steps as whole numbers with thousands separators.
export function fmt(v) {
  if (v === null || v === undefined) return "–";
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

export function fmtStep(v) {
  return Math.round(v).toLocaleString("en-US");
}

export function fmtRange(a, b) {
  return a === b ? `step ${fmtStep(a)}` : `steps ${fmtStep(a)}–${fmtStep(b)}`;
}
