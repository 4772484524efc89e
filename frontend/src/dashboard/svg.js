// A chart as a standalone SVG file: the same lines, min–max strokes, marks and axes as on
// screen, drawn from the chart's data (uPlot paints on a canvas, which SVG cannot hold).
// Names enter the file escaped.
import { withAlpha } from "./colors.js";
import { esc } from "../format.js";
import { fmtValue } from "./numbers.js";

export function chartSVG(chart) {
  const u = chart.u;
  const W = u.width, H = u.height + 30;
  const { left, top, width, height } = scaled(u.bbox);
  const X = (v) => u.valToPos(v, "x"), Y = (v) => u.valToPos(v, "y");
  const inX = (v) => v >= u.scales.x.min && v <= u.scales.x.max;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 -30 ${W} ${H}" font-family="system-ui, sans-serif" font-size="11">`);
  out.push(`<rect x="0" y="-30" width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="8" y="-10" font-size="14" fill="#1f2933">${esc(chart.metric)} — ${esc(chart.count.textContent)}</text>`);
  out.push(`<g transform="translate(${left},${top})">`);
  out.push(`<rect width="${width}" height="${height}" fill="none" stroke="#d9dee4"/>`);
  out.push(axes(u, width, height));
  out.push(`<clipPath id="c"><rect width="${width}" height="${height}"/></clipPath><g clip-path="url(#c)">`);
  for (const c of chart.cols) {
    const color = chart.ctx.color(c.s.run);
    const faint = chart.opts.smooth > 0 && c.kind === "last";
    const stroke = faint ? withAlpha(color, 0.3) : color;
    let d = "", pen = false;
    for (let i = 0; i < c.x.length; i++) {
      const y = c.y[i];
      if (y === null || y === undefined || (chart.opts.log && y <= 0)) { pen = false; continue; }
      d += `${pen ? "L" : "M"}${X(c.x[i]).toFixed(1)} ${Y(y).toFixed(1)}`;
      pen = true;
    }
    out.push(`<path d="${d}" fill="none" stroke="${stroke}" stroke-width="${c.kind === "smooth" ? 1.8 : 1.3}"/>`);
    if (c.kind !== "last") continue;
    let r = "";
    const { min, max, cnt, nf } = c.seg;
    for (let i = 0; i < c.x.length; i++) {
      if (!inX(c.x[i])) continue;
      if (cnt[i] > 1 && min[i] !== null && max[i] !== null) r += `M${X(c.x[i]).toFixed(1)} ${Y(min[i]).toFixed(1)}V${Y(max[i]).toFixed(1)}`;
      if (nf[i]) out.push(`<text x="${X(c.x[i]).toFixed(1)}" y="${height - 4}" fill="#d9480f" text-anchor="middle">${nf[i][1] ? "▲" : nf[i][2] ? "▼" : "×"}</text>`);
    }
    if (r) out.push(`<path d="${r}" stroke="${withAlpha(color, 0.55)}" stroke-width="1"/>`);
  }
  out.push("</g></g></svg>");
  return out.join("\n");
}

function scaled(b) {
  const r = devicePixelRatio || 1;
  return { left: b.left / r, top: b.top / r, width: b.width / r, height: b.height / r };
}

function axes(u, width, height) {
  const parts = [];
  const xs = u.axes[0]._splits || [], xv = u.axes[0]._values || [];
  xs.forEach((v, i) => {
    const x = u.valToPos(v, "x");
    if (x < 0 || x > width) return;
    parts.push(`<line x1="${x}" x2="${x}" y1="0" y2="${height}" stroke="#eef1f4"/>`);
    parts.push(`<text x="${x}" y="${height + 14}" text-anchor="middle" fill="#52606d">${esc(xv[i] ?? fmtValue(v))}</text>`);
  });
  const ys = u.axes[1]._splits || [];
  ys.forEach((v) => {
    const y = u.valToPos(v, "y");
    if (y < 0 || y > height) return;
    parts.push(`<line x1="0" x2="${width}" y1="${y}" y2="${y}" stroke="#eef1f4"/>`);
    parts.push(`<text x="-6" y="${y + 4}" text-anchor="end" fill="#52606d">${esc(fmtValue(v))}</text>`);
  });
  return parts.join("");
}
