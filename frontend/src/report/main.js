// The report page's script: draws every chart from the embedded JSON, loads the graph
// viewer on demand and keeps the table of contents in step with the scroll position.
// `document.documentElement.dataset.ready` becomes "1" once every chart is drawn (the
// browser tests wait for it); a chart that fails says so in its place, the others draw.
import { el } from "./dom.js";
import { LineChart } from "./lines.js";
import { Heatmap } from "./heatmap.js";
import { Timeline } from "./timeline.js";
import { setupViewer } from "./viewer.js";

const KINDS = { lines: LineChart, heatmap: Heatmap, timeline: Timeline };

function drawCharts() {
  const data = JSON.parse(document.getElementById("ts-report-data").textContent);
  const charts = [];
  for (const node of document.querySelectorAll("[data-chart]")) {
    const id = node.dataset.chart;
    const spec = data.charts[id];
    const Kind = spec && KINDS[spec.kind];
    try {
      if (!Kind) throw new Error(`no chart data for ${id}`);
      charts.push(new Kind(node, spec, id));
    } catch (err) {
      node.append(el("p", { class: "ts-chart-error", text: `This chart could not be drawn: ${err.message}` }));
    }
  }
  return charts;
}

function followScroll() {
  const links = new Map([...document.querySelectorAll(".ts-toc a[href^='#']")].map((a) => [a.getAttribute("href").slice(1), a]));
  if (!("IntersectionObserver" in window)) return;
  const io = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      for (const a of links.values()) a.classList.remove("ts-here");
      links.get(e.target.id)?.classList.add("ts-here");
    }
  }, { rootMargin: "-10% 0px -80% 0px" });
  for (const s of document.querySelectorAll("section[id]")) io.observe(s);
}

const charts = drawCharts();
setupViewer();
followScroll();
let timer = null;
window.addEventListener("resize", () => {
  clearTimeout(timer);
  timer = setTimeout(() => charts.forEach((c) => c.draw()), 150);
});
window.__tsReport = { charts: charts.length };
document.documentElement.dataset.ready = "1";
