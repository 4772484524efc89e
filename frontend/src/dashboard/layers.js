// The Layers page for one run: layer × step heatmaps (gradient norm, update/weight ratio,
// weight norm, dead fraction), percentile bands of the stored histograms over steps
// (TensorBoard's distributions), and the health timeline (non-finite events with their
// module, exploding and vanishing gradient flags). Clicking a layer anywhere selects it
// everywhere, the Model page included.
import uPlot from "uplot";
import { getJSON } from "./api.js";
import { el, clear, select } from "./dom.js";
import { Heatmap } from "./heatmap.js";
import { withAlpha } from "./colors.js";
import { fmtInt, fmtValue } from "./numbers.js";

export const LAYER_STATS = [
  ["grad/norm", "Gradient norm"],
  ["update_ratio/ratio", "Update / weight ratio ‖ΔW‖/‖W‖"],
  ["weight/norm", "Weight norm"],
  ["activation/dead_fraction", "Dead fraction (activations)"],
];
const REFRESH_MS = 5000;

// The one run a single-run page shows: the one chosen, else the newest selected run that
// holds what the page needs (`has`: layers, histograms, confusion, graph).
export function focusRun(app, has) {
  const want = app.state.get("run");
  if (app.selected.includes(want)) return want;
  const newest = [...app.selected].sort((a, b) => (app.runById.get(b)?.start_time ?? 0) - (app.runById.get(a)?.start_time ?? 0));
  return newest.find((id) => app.runById.get(id)?.has?.[has]) || newest[0] || null;
}

export function runPicker(app, current) {
  const options = app.selected.map((id) => [id, app.runById.get(id)?.name ?? id]);
  return el("label", {}, "run ", select(options, current, (v) => app.state.set({ run: v }), { "aria-label": "run" }));
}

export class LayersPage {
  constructor(app) {
    this.app = app;
    this.el = el("div", { class: "ts-page ts-layers" });
    this.heatmaps = [];
    this.lastRefresh = 0;
  }

  async show() {
    const app = this.app;
    const run = focusRun(app, "layers");
    clear(this.el);
    this.run = run;
    if (!run) { this.el.append(el("p", { class: "ts-hint", text: "No run selected." })); return; }
    const { body: detail } = await getJSON("api/run", { run });
    this.detail = detail;
    const stats = LAYER_STATS.filter(([key]) => { const [k, s] = key.split("/"); return (detail.layer_stats[k] || []).includes(s); });
    this.heatmaps = stats.map(([key, title]) => {
      const h = new Heatmap(title, { onPick: (layer) => app.state.set({ layer }) });
      h.key = key;
      return h;
    });
    this.dist = el("section", { class: "ts-dist" });
    this.health = el("section", { class: "ts-health", dataset: { testid: "health" } });
    this.el.append(
      el("div", { class: "ts-toolbar" }, runPicker(app, run),
        el("span", { class: "ts-hint", text: "Click a layer to select it here, in the distributions and on the Model page." })),
      stats.length ? "" : el("p", { class: "ts-hint", text: "This run holds no per-layer statistics (the Monitor logs them every 25 steps by default)." }),
      ...this.heatmaps.map((h) => h.el), this.dist, this.health);
    await Promise.all([this.loadHeatmaps(), this.loadHealth(), this.loadDistributions()]);
  }

  async loadHeatmaps() {
    await Promise.all(this.heatmaps.map(async (h) => {
      const [kind, stat] = h.key.split("/");
      const { body } = await getJSON("api/layers", { run: this.run, kind, stat, width: Math.max(100, (h.el.clientWidth || 800) - 200) });
      h.set(body);
      h.selectLayer(this.app.state.get("layer") || null);
    }));
    this.lastRefresh = Date.now();
  }

  async loadHealth() {
    const { body } = await getJSON("api/health", { run: this.run });
    clear(this.health).append(el("h3", { text: "Health timeline" }));
    const rows = [
      ...body.events.map((e) => ({ step: e.step, what: e.kind === "nonfinite" ? "non-finite value" : e.kind,
        layer: String(e.payload.module ?? ""), detail: [e.payload.phase, e.payload.tensor, e.payload.note].filter(Boolean).join(" · ") })),
      ...body.flags.map((f) => ({ step: f.first, to: f.last, what: `${f.kind} gradient`, layer: f.layer,
        detail: `norm ${fmtValue(f.value)}${f.ratio !== null ? ` (${fmtValue(f.ratio)} × ${f.kind === "exploding" ? "its median" : "the largest layer's"})` : ""}` })),
    ].sort((a, b) => a.step - b.step);
    if (!rows.length) {
      this.health.append(el("p", { class: "ts-hint", text: `No non-finite value and no gradient flag (${body.rules.exploding}; ${body.rules.vanishing}).` }));
      return;
    }
    this.health.append(this.timeline(rows), el("p", { class: "ts-hint", text: `Flags: ${body.rules.exploding}; ${body.rules.vanishing}.` }));
    const body_ = el("tbody");
    for (const r of rows.slice(0, 500)) {
      body_.append(el("tr", { class: r.what.startsWith("non-finite") ? "ts-bad-row" : "", onclick: () => r.layer && this.app.state.set({ layer: r.layer }) },
        el("td", { class: "ts-num", text: r.to !== undefined && r.to !== r.step ? `${fmtInt(Math.round(r.step))}–${fmtInt(Math.round(r.to))}` : fmtInt(Math.round(r.step)) }),
        el("td", { text: r.what }), el("td", { class: "ts-mono", text: r.layer }), el("td", { text: r.detail })));
    }
    this.health.append(el("table", { class: "ts-table" }, el("thead", {}, el("tr", {}, ...["step", "what", "layer / module", "detail"].map((h) => el("th", { text: h })))), body_));
  }

  timeline(rows) {
    const c = el("canvas", { class: "ts-timeline" });
    const width = Math.max(300, (this.el.clientWidth || 800) - 20), height = 36, r = devicePixelRatio || 1;
    c.width = width * r; c.height = height * r;
    c.style.width = width + "px"; c.style.height = height + "px";
    const ctx = c.getContext("2d");
    ctx.scale(r, r);
    const lo = this.detail.first_step ?? 0, hi = Math.max(this.detail.max_step ?? 1, lo + 1);
    const X = (s) => 8 + ((s - lo) / (hi - lo)) * (width - 16);
    ctx.fillStyle = "#eceff3";
    ctx.fillRect(8, 14, width - 16, 8);
    for (const e of rows) {
      ctx.fillStyle = e.what.startsWith("non-finite") ? "#e03131" : e.what.startsWith("exploding") ? "#f08c00" : "#1c7ed6";
      const x0 = X(e.step), x1 = X(e.to ?? e.step);
      ctx.fillRect(x0 - 1.5, 6, Math.max(3, x1 - x0 + 3), 24);
    }
    return c;
  }

  async loadDistributions() {
    const names = this.detail.histograms;
    clear(this.dist).append(el("h3", { text: "Distributions (percentile bands of stored histograms)" }));
    if (!names.length) { this.dist.append(el("p", { class: "ts-hint", text: "This run holds no histograms (the Monitor stores them every 500 steps by default)." })); return; }
    const layer = this.app.state.get("layer");
    const matching = layer ? names.filter(([, n]) => n === layer || n.startsWith(layer + ".") || layer.startsWith(n + ".")) : [];
    const picked = (matching.length ? matching : spread(names, 4)).slice(0, 6);
    const charts = el("div", { class: "ts-grid" });
    this.dist.append(el("p", { class: "ts-hint", text: matching.length ? `Histograms of ${layer}.` : "A spread of the stored tensors; click a layer to see its own." }), charts);
    for (const [kind, name] of picked) {
      const { body } = await getJSON("api/histograms", { run: this.run, kind, name });
      charts.append(bandsChart(body, this.app.color(this.run)));
    }
  }

  stateChanged(changed) {
    if (changed.includes("layer")) {
      for (const h of this.heatmaps) h.selectLayer(this.app.state.get("layer"));
      this.loadDistributions();
    }
  }

  onRunsChanged() {
    if (this.run && Date.now() - this.lastRefresh > REFRESH_MS) {
      this.lastRefresh = Date.now();
      this.loadHeatmaps();
      this.loadHealth();
    }
  }

  resize() {
    for (const h of this.heatmaps) h.draw();
  }
}

function spread(list, most) {
  if (list.length <= most) return list;
  return Array.from({ length: most }, (_, i) => list[Math.round((i * (list.length - 1)) / (most - 1))]);
}

// Percentile bands over steps: min–max, 7–93%, 16–84%, 31–69% shaded, the median drawn.
function bandsChart(h, color) {
  const box = el("section", { class: "ts-chart", dataset: { testid: "distribution", metric: `${h.kind}:${h.name}` } },
    el("header", {}, el("h3", { class: "ts-chart-title", text: `${h.kind} · ${h.name}` }),
      el("span", { class: "ts-count", text: `${fmtInt(h.steps.length)} of ${fmtInt(h.snapshots)} snapshots` })));
  if (!h.steps.length) return box;
  const n = h.percentiles.length;
  const cols = h.percentiles.map((_, k) => h.bands.map((b) => b[k]));
  const data = [h.steps.length === 1 ? [h.steps[0] - 0.5, h.steps[0] + 0.5] : h.steps, ...cols.map((c) => (h.steps.length === 1 ? [c[0], c[0]] : c))];
  const series = [{}, ...h.percentiles.map((p, k) => ({
    label: `p${p}`, stroke: k === (n - 1) / 2 ? color : "transparent", width: k === (n - 1) / 2 ? 1.6 : 0, points: { show: false },
  }))];
  const bands = [];
  for (let k = 0; k < (n - 1) / 2; k++) bands.push({ series: [n - k, k + 1], fill: withAlpha(color, 0.12 + 0.12 * k) });
  const holder = el("div", { class: "ts-plot" });
  box.append(holder);
  requestAnimationFrame(() => new uPlot({
    width: Math.max(280, (box.clientWidth || 500) - 4), height: 200, series, bands, legend: { show: false },
    scales: { x: { time: false } }, cursor: { points: { show: false } },
    axes: [{ stroke: "#52606d" }, { stroke: "#52606d", size: 60, values: (u, v) => v.map(fmtValue) }],
  }, data, holder));
  return box;
}
