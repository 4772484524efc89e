// Numbers as the dashboard shows them: values with 4 significant digits, steps and counts
// grouped, times relative to now, NaN/±inf by name.

export function fmtValue(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "string") return v;
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "+inf" : "-inf";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

// An axis tick: the shortest text that tells neighbouring ticks apart.
export function fmtTick(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2).replace(/\.?0+e/, "e");
  return String(Number(v.toPrecision(6)));
}

const GROUPED = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function fmtInt(n) {
  return n === null || n === undefined ? "–" : GROUPED.format(n);
}

export function fmtDuration(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return "–";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.round(s % 60)).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h ${String(m % 60).padStart(2, "0")}m` : `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function fmtAge(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  return seconds < 5 ? "now" : fmtDuration(seconds) + " ago";
}

export function fmtTime(t) {
  if (!Number.isFinite(t)) return "–";
  return new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19);
}

// The non-finite code the server sends (1 NaN, 2 +inf, 3 -inf) as a name.
export const NONFINITE = { 1: "NaN", 2: "+inf", 3: "-inf" };
