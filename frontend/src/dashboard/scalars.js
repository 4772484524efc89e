// The Scalars page: one chart per metric (every split of it on the same chart), every
// selected run overlaid, with a synced crosshair. The toolbar sets the x axis (step, wall
// time, time since the run started), a linear or log y axis, smoothing (a debiased EMA on
// the raw points, computed by the server; the raw curve stays, faint) and a metric filter.
// Live rows from the event stream are appended to the charts as they arrive.
import { getJSON, csvURL } from "./api.js";
import { Chart } from "./chart.js";
import { el, clear, select, afterPaint } from "./dom.js";
import { SeriesData } from "./series.js";
import { filterRegex } from "./runs.js";

const CONCURRENT = 4;

export class ScalarsPage {
  constructor(app) {
    this.app = app;
    this.charts = new Map();
    this.generation = 0;
    this.pending = new Set();
    this.el = el("div", { class: "ts-page ts-scalars" });
    this.toolbar = el("div", { class: "ts-toolbar" });
    this.grid = el("div", { class: "ts-grid" });
    this.empty = el("p", { class: "ts-hint" });
    this.el.append(this.toolbar, this.empty, this.grid);
    this.redrawQueued = false;
  }

  opts() {
    const s = this.app.state;
    const num = (k) => (s.get(k) === "" ? null : Number(s.get(k)));
    return { axis: s.get("x"), log: s.get("log") === "1", smooth: Number(s.get("smooth")) || 0, lo: num("lo"), hi: num("hi") };
  }

  renderToolbar() {
    const s = this.app.state;
    const o = this.opts();
    const smooth = el("input", { type: "range", min: "0", max: "0.99", step: "0.01", value: String(o.smooth), "aria-label": "Smoothing" });
    const smoothText = el("span", { class: "ts-num", text: o.smooth ? o.smooth.toFixed(2) : "off" });
    let timer = 0;
    smooth.addEventListener("input", () => {
      smoothText.textContent = Number(smooth.value) ? Number(smooth.value).toFixed(2) : "off";
      clearTimeout(timer);
      timer = setTimeout(() => s.set({ smooth: smooth.value === "0" ? "0" : smooth.value }), 250);
    });
    const metricFilter = el("input", { type: "search", placeholder: "Filter metrics (regex)", value: s.get("metrics"), "aria-label": "Filter metrics" });
    metricFilter.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => s.set({ metrics: metricFilter.value }), 250); });
    clear(this.toolbar).append(
      el("label", {}, "x ", select([["step", "step"], ["wall", "wall time"], ["rel", "time since start"]], o.axis, (v) => s.set({ x: v, lo: "", hi: "" }), { "aria-label": "x axis" })),
      el("label", {}, "y ", select([["0", "linear"], ["1", "log"]], o.log ? "1" : "0", (v) => s.set({ log: v }), { "aria-label": "y scale" })),
      el("label", {}, "smoothing ", smooth, smoothText),
      metricFilter,
      o.lo !== null ? el("button", { type: "button", onclick: () => s.set({ lo: "", hi: "" }) }, "Reset zoom") : "",
      el("span", { class: "ts-hint" }, "Drag across a chart to zoom (all charts follow), double-click to zoom out."));
  }

  metricNames() {
    const names = new Set();
    for (const id of this.app.selected) for (const m of this.app.runById.get(id)?.metrics || []) names.add(m.name);
    const re = filterRegex(this.app.state.get("metrics"));
    return [...names].filter((n) => !re || re.test(n)).sort();
  }

  // Rebuild the charts for the current runs, options and metrics; resolves once painted.
  async show() {
    const gen = ++this.generation;
    this.renderToolbar();
    const names = this.metricNames();
    for (const [name, chart] of this.charts) if (!names.includes(name)) { chart.destroy(); chart.el.remove(); this.charts.delete(name); }
    for (const name of names) if (!this.charts.has(name)) this.charts.set(name, this.makeChart(name));
    clear(this.grid).append(...names.map((n) => this.charts.get(n).el));
    this.empty.textContent = !this.app.selected.length ? "No run selected: tick runs in the list on the left."
      : !names.length ? "The selected runs have no scalars yet (or none match the metric filter)." : "";
    await this.loadAll(names, gen);
  }

  makeChart(name) {
    const app = this.app;
    return new Chart(name, {
      runName: (id) => app.runById.get(id)?.name ?? id,
      color: (id) => app.color(id),
      onZoom: (lo, hi) => app.state.set({ lo: lo === null ? "" : lo, hi: hi === null ? "" : hi }),
      csv: csvURL,
    });
  }

  async loadAll(names, gen) {
    const queue = [...names];
    const worker = async () => {
      while (queue.length && gen === this.generation) await this.load(queue.shift(), gen);
    };
    await Promise.all(Array.from({ length: CONCURRENT }, worker));
    await afterPaint();
  }

  async load(name, gen) {
    const chart = this.charts.get(name);
    if (!chart) return;
    const o = this.opts();
    try {
      const { body } = await getJSON("api/chart", {
        metric: name, runs: this.app.selected.join(","), axis: o.axis, width: chart.width,
        smooth: o.smooth || "", lo: o.lo ?? "", hi: o.hi ?? "",
      });
      if (gen !== this.generation) return;
      const series = body.series.map((p) => new SeriesData(p, o.axis));
      for (const s of series) s.setSmoothing(o.smooth);
      chart.setSeries(series, o);
      this.app.subscribe(); // follow these series from where their data ends
    } catch (e) {
      chart.count.textContent = `could not load: ${e.message}`;
    }
  }

  // Rows from the event stream: append to the charts that show them.
  onRows(event) {
    let unknown = false;
    for (const row of event.rows) {
      const chart = this.charts.get(row.metric);
      if (!chart) { unknown = unknown || this.wants(row.metric); continue; }
      const s = chart.series.find((x) => x.run === event.run && x.split === row.split);
      if (!s) { this.pending.add(row.metric); continue; }
      if (!s.take(row)) continue; // nothing it did not have
      s.compact(2 * chart.width);
      this.dirty(chart);
    }
    for (const r of event.resync) this.pending.add(r.metric);
    if (unknown) this.app.refreshSoon();
    if (this.pending.size) this.reloadPending();
  }

  wants(metric) {
    const re = filterRegex(this.app.state.get("metrics"));
    return !re || re.test(metric);
  }

  reloadPending() {
    clearTimeout(this.pendingTimer);
    this.pendingTimer = setTimeout(() => {
      const names = [...this.pending];
      this.pending.clear();
      for (const n of names) this.load(n, this.generation);
    }, 300);
  }

  dirty(chart) {
    chart.dirty = true;
    if (this.redrawQueued) return;
    this.redrawQueued = true;
    requestAnimationFrame(() => {
      this.redrawQueued = false;
      for (const c of this.charts.values()) if (c.dirty) { c.dirty = false; c.redraw(); }
      this.app.painted();
    });
  }

  // [run, series id, chunk, points] of every series drawn: where the stream starts them.
  tails() {
    const out = [];
    for (const c of this.charts.values()) for (const s of c.series) out.push([s.run, s.sid, ...s.cursor]);
    return out;
  }

  resize() {
    for (const c of this.charts.values()) c.resize();
  }
}
