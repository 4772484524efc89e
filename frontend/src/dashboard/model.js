// The Model page for one run: the summary table and the structure viewer of the model the
// Monitor stored, each module coloured by a statistic of the run at the selected step
// (gradient norm, update ratio, weight norm, dead fraction). The statistic's heatmap sits
// below: clicking a layer there selects it in the graph, and selecting a module in the
// graph selects its rows there.
import { getJSON } from "./api.js";
import { el, clear, select } from "./dom.js";
import { GraphPanel } from "./graph.js";
import { Heatmap } from "./heatmap.js";
import { LAYER_STATS, focusRun, runPicker } from "./layers.js";
import { fmtInt } from "./numbers.js";
import { fmtBytes, fmtSI } from "../format.js";

// A statistic's layer (a parameter such as "fc1.weight", or a module) → its module path.
export function moduleOf(kind, layer) {
  if (kind === "activation") return layer;
  const dot = layer.lastIndexOf(".");
  return dot < 0 ? "" : layer.slice(0, dot);
}

export class ModelPage {
  constructor(app) {
    this.app = app;
    this.el = el("div", { class: "ts-page ts-model" });
  }

  async show() {
    const app = this.app;
    const run = focusRun(app, "graph");
    clear(this.el);
    this.run = run;
    if (!run) { this.el.append(el("p", { class: "ts-hint", text: "No run selected." })); return; }
    let model;
    try {
      model = (await getJSON("api/model", { run })).body;
    } catch (e) {
      this.el.append(el("div", { class: "ts-toolbar" }, runPicker(app, run)), el("p", { class: "ts-hint", text: e.message }));
      return;
    }
    const detail = (await getJSON("api/run", { run })).body;
    const stats = LAYER_STATS.filter(([key]) => { const [k, s] = key.split("/"); return (detail.layer_stats[k] || []).includes(s); });
    const want = app.state.get("stat");
    const stat = want === "kind" ? "" : stats.some(([k]) => k === want) ? want : stats[0]?.[0] || "";
    this.stat = stat;
    this.graph = new GraphPanel(model.viewer, { ramp: model.ramp, dark: model.dark, onSelect: (path) => this.graphSelected(path) });
    this.slider = el("input", { type: "range", min: "0", max: "0", step: "1", "aria-label": "step" });
    this.stepText = el("span", { class: "ts-num" });
    this.slider.addEventListener("input", () => this.pickColumn(Number(this.slider.value)));
    const options = [["", "op kind"], ...stats.map(([k, t]) => [k, t])];
    this.el.append(
      el("div", { class: "ts-toolbar" }, runPicker(app, run),
        el("label", {}, "colour by ", select(options, stat, (v) => app.state.set({ stat: v || "kind" }), { "aria-label": "colour by" })),
        stat ? el("label", {}, "at step ", this.slider, this.stepText) : null),
      this.graph.el);
    this.graph.render();
    this.graph.fit();
    this.graph.select(null, { notify: false });
    if (stat) {
      this.heatmap = new Heatmap(stats.find(([k]) => k === stat)[1], { onPick: (layer, col) => this.heatPicked(layer, col) });
      this.el.append(this.heatmap.el);
      const [kind, name] = stat.split("/");
      this.kind = kind;
      const { body } = await getJSON("api/layers", { run, kind, stat: name, width: 300 });
      this.heatmap.set(body);
      this.slider.max = String(Math.max(0, body.from.length - 1));
      this.pickColumn(body.from.length - 1);
    }
    this.el.append(summaryTable(model.summary));
    const layer = app.state.get("layer");
    if (layer) this.graph.selectPath(this.kind ? moduleOf(this.kind, layer) : layer);
  }

  pickColumn(j) {
    const h = this.heatmap;
    if (!h || !h.data || j < 0) return;
    h.selectedCol = j;
    h.draw();
    this.slider.value = String(j);
    const d = h.data;
    this.stepText.textContent = `${fmtInt(Math.ceil(d.from[j]))}–${fmtInt(Math.floor(d.to[j]))}`;
    const values = new Map();
    for (const [layer, v] of h.column(j)) {
      const path = moduleOf(this.kind, layer);
      values.set(path, Math.max(values.get(path) ?? -Infinity, v));
    }
    this.graph.setValues(values, h.title);
    this.el.dataset.coloredModules = String(values.size);
  }

  heatPicked(layer, col) {
    if (col !== null && col !== undefined) this.pickColumn(col);
    this.graph.selectPath(moduleOf(this.kind, layer));
    this.app.state.set({ layer }, { notify: false });
  }

  graphSelected(path) {
    if (!this.heatmap?.data) return;
    const layer = this.heatmap.data.layers.find((l) => moduleOf(this.kind, l) === path);
    this.heatmap.selectLayer(layer ?? null);
    if (layer) this.app.state.set({ layer }, { notify: false });
  }

  resize() {
    this.heatmap?.draw();
  }
}

function summaryTable(s) {
  const totals = el("p", { class: "ts-eval-head", dataset: { testid: "model-totals" } },
    `${s.model}: ${fmtInt(s.total_params)} parameters (${fmtInt(s.trainable_params)} trainable, ${fmtBytes(s.param_bytes)}) · ${fmtSI(s.macs)}MACs per forward pass`);
  const body = el("tbody");
  for (const r of s.modules.slice(0, 3000)) {
    const name = el("td", { class: "ts-mono", text: (r.repeat > 1 ? `${r.name} ×${r.repeat}` : r.name) || "(model)" });
    name.style.paddingLeft = `${6 + 14 * r.depth}px`;
    body.append(el("tr", { dataset: { testid: "summary-row", path: r.path } }, name, el("td", { text: r.type }),
      el("td", { class: "ts-mono", text: r.output_shapes.map((x) => `[${x.join(", ")}]`).join(" ") }),
      el("td", { class: "ts-num", text: fmtInt(r.params) }), el("td", { class: "ts-num", text: r.macs ? fmtSI(r.macs) : "–" })));
  }
  return el("section", { class: "ts-summary" }, el("h3", { text: "Summary" }), totals,
    el("table", { class: "ts-table" }, el("thead", {}, el("tr", {}, ...["module", "type", "output shape", "parameters", "MACs"].map((h) => el("th", { text: h })))), body));
}

