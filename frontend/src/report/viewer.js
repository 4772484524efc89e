// The interactive graph viewer, embedded: its own self-contained page (the same one
// `GraphView.save("x.html")` writes) carried as a JSON string and loaded into a frame
// only when asked for or scrolled to, so a large model's layout never slows the opening
// of the report. The frame is not sandboxed: a sandboxed (cross-origin) frame starts with
// no size, and the viewer fitted the graph to nothing. The report's Content-Security-
// Policy applies inside the frame too, so it still runs only the viewer's own script.
import { el } from "./dom.js";

export function setupViewer() {
  const holder = document.querySelector("[data-viewer]");
  const source = document.getElementById("ts-viewer-page");
  if (!holder || !source) return;
  let loaded = false;
  const load = () => {
    if (loaded) return;
    loaded = true;
    const frame = el("iframe", { class: "ts-viewer-frame", title: "Interactive graph viewer" });
    holder.querySelector(".ts-viewer-open")?.remove();
    holder.append(frame);
    // set once the frame has its size: the viewer fits the graph to it when it starts
    requestAnimationFrame(() => { frame.srcdoc = JSON.parse(source.textContent); });
  };
  holder.querySelector(".ts-viewer-open")?.addEventListener("click", load);
  if ("IntersectionObserver" in window) {
    const seen = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) { seen.disconnect(); load(); }
    }, { rootMargin: "200px" });
    seen.observe(holder);
  }
}
