// The Evaluation page for one run: the confusion matrix of a split at a step (a slider
// walks the steps it was logged at), raw or normalised by row, and the per-class
// precision, recall, F1 and support computed from it (analysis/classification.py).
import { getJSON } from "./api.js";
import { el, clear, select } from "./dom.js";
import { colorFor } from "../colors.js";
import { fmtInt, fmtValue } from "./numbers.js";
import { focusRun, runPicker } from "./layers.js";

const TABLE_CLASSES = 40; // a table up to this many classes, a canvas beyond

export class EvaluationPage {
  constructor(app) {
    this.app = app;
    this.el = el("div", { class: "ts-page ts-eval" });
    this.normalise = false;
  }

  async show() {
    const app = this.app;
    const run = focusRun(app, "confusion");
    clear(this.el);
    this.run = run;
    if (!run) { this.el.append(el("p", { class: "ts-hint", text: "No run selected." })); return; }
    const { body: detail } = await getJSON("api/run", { run });
    const splits = detail.confusion;
    if (!splits.length) {
      this.el.append(el("div", { class: "ts-toolbar" }, runPicker(app, run)),
        el("p", { class: "ts-hint", text: "This run holds no confusion matrix (Monitor.log_classification stores one per evaluation step)." }));
      return;
    }
    const split = splits.includes(app.state.get("split")) ? app.state.get("split") : splits.includes("val") ? "val" : splits[0];
    this.split = split;
    this.out = el("div", { class: "ts-eval-out" });
    this.slider = el("input", { type: "range", min: "0", max: "0", step: "1", "aria-label": "step" });
    this.stepText = el("span", { class: "ts-num" });
    this.slider.addEventListener("input", () => { clearTimeout(this.timer); this.timer = setTimeout(() => this.load(this.steps[Number(this.slider.value)]), 120); });
    const norm = el("input", { type: "checkbox", checked: this.normalise, onchange: () => { this.normalise = norm.checked; this.render(); } });
    this.el.append(
      el("div", { class: "ts-toolbar" }, runPicker(app, run),
        el("label", {}, "split ", select(splits.map((s) => [s, s]), split, (v) => app.state.set({ split: v }), { "aria-label": "split" })),
        el("label", {}, "step ", this.slider, this.stepText),
        el("label", {}, norm, " normalise rows")),
      this.out);
    const step = app.state.get("step");
    await this.load(step === "" ? undefined : Number(step));
  }

  async load(step) {
    const { body } = await getJSON("api/confusion", { run: this.run, split: this.split, step });
    this.data = body;
    this.steps = body.steps;
    this.slider.max = String(Math.max(0, body.steps.length - 1));
    this.slider.value = String(Math.max(0, body.steps.indexOf(body.step)));
    this.stepText.textContent = `${fmtInt(body.step)} (${body.steps.indexOf(body.step) + 1} of ${body.steps.length})`;
    this.render();
  }

  render() {
    const d = this.data;
    if (!d) return;
    const m = d.metrics;
    const n = d.matrix.reduce((a, r) => a + r.reduce((x, y) => x + y, 0), 0);
    clear(this.out).append(
      el("p", { class: "ts-eval-head", dataset: { testid: "eval-summary" } },
        `${this.split} at step ${fmtInt(d.step)}: accuracy ${fmtValue(m.accuracy)} on ${fmtInt(n)} samples · macro F1 ${fmtValue(m.macro_f1)} · weighted F1 ${fmtValue(m.weighted_f1)}`),
      el("div", { class: "ts-eval-grid" }, this.matrix(d), this.perClass(d)));
  }

  matrix(d) {
    const k = d.labels.length;
    const rows = d.matrix.map((r) => { const s = r.reduce((a, b) => a + b, 0); return r.map((v) => (this.normalise ? (s ? v / s : 0) : v)); });
    let max = 1e-12;
    for (const r of rows) for (const v of r) if (v > max) max = v;
    const box = el("section", { class: "ts-confusion", dataset: { testid: "confusion" } }, el("h3", { text: "Confusion matrix (rows: true class, columns: predicted)" }));
    if (k > TABLE_CLASSES) {
      box.append(this.matrixCanvas(rows, max));
      return box;
    }
    const head = el("tr", {}, el("th", { text: "true \\ predicted" }), ...d.labels.map((l) => el("th", { class: "ts-rot", text: l })));
    const body = el("tbody");
    rows.forEach((r, i) => {
      body.append(el("tr", {}, el("th", { text: d.labels[i] }), ...r.map((v, j) => {
        const td = el("td", { class: "ts-num", title: `true ${d.labels[i]}, predicted ${d.labels[j]}: ${d.matrix[i][j]}`,
          text: this.normalise ? v.toFixed(2) : fmtInt(v) });
        const c = colorFor(d.colors, v / max);
        td.style.background = v ? c.fill : "#fff";
        td.style.color = c.light && v ? "#fff" : v ? "#1f2933" : "#9aa5b1";
        return td;
      })));
    });
    box.append(el("table", { class: "ts-table ts-cm" }, el("thead", {}, head), body));
    return box;
  }

  matrixCanvas(rows, max) {
    const k = rows.length, cell = Math.max(1, Math.floor(600 / k)), r = devicePixelRatio || 1;
    const c = el("canvas", {});
    c.width = k * cell * r; c.height = k * cell * r;
    c.style.width = k * cell + "px"; c.style.height = k * cell + "px";
    const ctx = c.getContext("2d");
    ctx.scale(r, r);
    rows.forEach((row, i) => row.forEach((v, j) => { ctx.fillStyle = v ? colorFor(this.data.colors, v / max).fill : "#fff"; ctx.fillRect(j * cell, i * cell, cell, cell); }));
    return c;
  }

  perClass(d) {
    const m = d.metrics;
    const body = el("tbody");
    d.labels.forEach((l, i) => body.append(el("tr", {},
      el("th", { text: l }), el("td", { class: "ts-num", text: fmtValue(m.precision[i]) }), el("td", { class: "ts-num", text: fmtValue(m.recall[i]) }),
      el("td", { class: "ts-num", text: fmtValue(m.f1[i]) }), el("td", { class: "ts-num", text: fmtInt(m.support[i]) }))));
    body.append(el("tr", { class: "ts-total" }, el("th", { text: "macro average" }), el("td", { class: "ts-num", text: fmtValue(m.macro_precision) }),
      el("td", { class: "ts-num", text: fmtValue(m.macro_recall) }), el("td", { class: "ts-num", text: fmtValue(m.macro_f1) }), el("td", { class: "ts-num", text: fmtInt(m.support.reduce((a, b) => a + b, 0)) })));
    return el("section", { class: "ts-perclass", dataset: { testid: "per-class" } }, el("h3", { text: "Per class" }),
      el("table", { class: "ts-table" }, el("thead", {}, el("tr", {}, ...["class", "precision", "recall", "F1", "support"].map((h) => el("th", { text: h })))), body));
  }

  onRunsChanged(list) {
    if (list.some((r) => r.id === this.run) && this.steps && Date.now() - (this.loadedAt || 0) > 5000) {
      this.loadedAt = Date.now();
      const atEnd = Number(this.slider.value) === this.steps.length - 1;
      if (atEnd) this.load();
    }
  }
}
