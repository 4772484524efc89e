// The dashboard's entry point: the page shell (tabs, run list, current page), the runs
// and the selection, the URL state, and the tab's one event stream that keeps it all live.
// `document.documentElement.dataset.ready` becomes "1" once the first view is painted.
import { getJSON, Stream } from "./api.js";
import { runColors } from "./colors.js";
import { el, clear, afterPaint } from "./dom.js";
import { State } from "./state.js";
import { AUTO_RUNS, RunList, RunsPage } from "./runs.js";
import { ScalarsPage } from "./scalars.js";
import { LayersPage } from "./layers.js";
import { EvaluationPage } from "./evaluation.js";
import { ModelPage } from "./model.js";

const PAGES = [["runs", "Runs"], ["scalars", "Scalars"], ["layers", "Layers"], ["evaluation", "Evaluation"], ["model", "Model"]];
const MAX_SELECTED = 64;

class App {
  constructor() {
    this.state = new State((changed) => this.stateChanged(changed));
    this.runs = [];
    this.runById = new Map();
    this.colors = new Map();
    this.selected = [];
    this.autoSelect = true;
    this.generation = "";
    this.pages = {};
    this.stream = new Stream({
      rows: (e) => this.onRows(e),
      runs: (list) => this.onRuns(list),
      status: (ok) => this.live.classList.toggle("ts-on", ok),
    });
    this.buildShell();
  }

  buildShell() {
    this.tabs = el("nav", { class: "ts-tabs" }, ...PAGES.map(([id, label]) =>
      el("button", { type: "button", dataset: { page: id }, onclick: () => this.state.set({ page: id }, { push: true }) }, label)));
    this.live = el("span", { class: "ts-live", title: "Live updates: a dot is green while the event stream is connected" }, "live");
    this.list = new RunList(this);
    this.main = el("main", { class: "ts-main-area" });
    this.error = el("div", { class: "ts-error", hidden: true, role: "alert" });
    document.body.append(
      el("header", { class: "ts-top" }, el("span", { class: "ts-brand" }, "torchscope"), this.tabs, this.live),
      this.error,
      el("div", { class: "ts-body" }, this.list.el, this.main));
    window.addEventListener("resize", () => { clearTimeout(this.resizeTimer); this.resizeTimer = setTimeout(() => this.page()?.resize?.(), 200); });
  }

  color(id) {
    return this.colors.get(id) || "#7f7f7f";
  }

  lastStep(r) {
    return r.last_step;
  }

  setRuns(list) {
    this.runs = list;
    this.runById = new Map(list.map((r) => [r.id, r]));
    this.colors = runColors(list);
  }

  // The selection: explicit ids from the URL, or the latest runs (new runs join).
  computeSelection() {
    const wanted = this.state.get("runs");
    this.autoSelect = !wanted;
    if (wanted) return wanted.split(",").filter((id) => this.runById.has(id)).slice(0, MAX_SELECTED);
    return [...this.runs].sort((a, b) => (b.start_time ?? 0) - (a.start_time ?? 0)).slice(0, AUTO_RUNS).map((r) => r.id);
  }

  selectRuns(ids) {
    this.state.set({ runs: ids === null ? "" : ids.length ? ids.join(",") : "-" });
  }

  toggleRun(id, on) {
    const ids = this.selected.filter((x) => x !== id);
    if (on) ids.push(id);
    this.selectRuns(ids.slice(0, MAX_SELECTED));
  }

  page() {
    const name = this.state.get("page");
    if (!this.pages[name]) {
      const make = { runs: RunsPage, scalars: ScalarsPage, layers: LayersPage, evaluation: EvaluationPage, model: ModelPage }[name] || ScalarsPage;
      this.pages[name] = new make(this);
    }
    return this.pages[name];
  }

  async show() {
    for (const b of this.tabs.children) b.classList.toggle("ts-current", b.dataset.page === this.state.get("page"));
    const page = this.page();
    if (this.main.firstChild !== page.el) clear(this.main).append(page.el);
    if (page.show) await page.show();
    else page.render();
    this.subscribe();
  }

  stateChanged(changed) {
    if (changed.includes("runs")) this.selected = this.computeSelection();
    this.list.render();
    const page = this.page();
    const pageKeys = ["page", "runs", "x", "log", "smooth", "lo", "hi", "metrics", "run", "split", "layer", "stat"];
    if (changed.includes("filter") && this.state.get("page") === "runs") page.render();
    if (changed.some((k) => pageKeys.includes(k))) this.show();
    else if (page.stateChanged) page.stateChanged(changed);
  }

  // One stream for the tab: the selected runs; each drawn series from where its data ends,
  // the rest of a run from its newest chunk when the list was read (only its step shows).
  subscribe() {
    clearTimeout(this.subscribeTimer);
    this.subscribeTimer = setTimeout(() => {
      const runs = {};
      for (const id of this.selected) runs[id] = this.runById.get(id)?.versions[0] ?? 0;
      const tails = this.page().tails?.().filter((t) => t[0] in runs) ?? [];
      this.stream.subscribe(runs, tails, this.generation);
    }, 50); // charts load side by side: one new stream once they are in
  }

  onRows(event) {
    const r = this.runById.get(event.run);
    const last = event.rows[event.rows.length - 1]; // rows come in chunk order
    if (r && last && last.steps.length && last.c >= (r._stepCursor ?? -1)) {
      r.last_step = last.steps[last.steps.length - 1];
      r._stepCursor = last.c;
      this.list.setStep(event.run);
    }
    const page = this.page();
    if (page.onRows) page.onRows(event);
  }

  onRuns(list) {
    let added = false;
    for (const p of list) {
      const old = this.runById.get(p.id);
      if (old && (old._stepCursor ?? -1) > p.versions[0]) {
        p.last_step = old.last_step; // the rows seen live are newer than this digest
        p._stepCursor = old._stepCursor;
      }
      if (!old) { this.runs.push(p); added = true; }
      else this.runs[this.runs.indexOf(old)] = p;
      this.runById.set(p.id, p);
    }
    if (added) this.colors = runColors(this.runs);
    const before = this.selected.join(",");
    this.selected = this.computeSelection();
    this.list.render();
    const page = this.page();
    if (before !== this.selected.join(",")) this.show();
    else if (page.onRunsChanged) page.onRunsChanged(list);
    else if (this.state.get("page") === "runs") this.renderRunsSoon();
  }

  // The runs table follows live runs, redrawn at most every two seconds (a thousand rows).
  renderRunsSoon() {
    if (this.runsTimer) return;
    this.runsTimer = setTimeout(() => {
      this.runsTimer = 0;
      if (this.state.get("page") === "runs") this.page().render();
    }, 2000);
  }

  refreshSoon() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.show(), 500);
  }

  painted() {}

  async start() {
    try {
      const { body, headers } = await getJSON("api/runs");
      this.generation = headers.get("x-generation") || "";
      this.setRuns(body);
    } catch (e) {
      this.error.hidden = false;
      this.error.textContent = `Could not load the runs: ${e.message}`;
    }
    this.selected = this.computeSelection();
    this.list.render();
    await this.show();
    await afterPaint();
    this.readyMs = performance.now(); // since navigation started (benchmarks read it)
    document.documentElement.dataset.ready = "1";
  }
}

const app = new App();
window.__torchscope_dashboard = app;
app.start();
