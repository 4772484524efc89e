// The interactive graph viewer, embedded: its own self-contained page (the same one
// `GraphView.save("x.html")` writes) carried as a JSON string and loaded into a sandboxed
// frame only when asked for or scrolled to, so a large model's layout never slows the
// opening of the report. The page's Content-Security-Policy applies inside the frame too.
import { el } from "./dom.js";

export function setupViewer() {
  const holder = document.querySelector("[data-viewer]");
  const source = document.getElementById("ts-viewer-page");
  if (!holder || !source) return;
  let loaded = false;
  const load = () => {
    if (loaded) return;
    loaded = true;
    const frame = el("iframe", { class: "ts-viewer-frame", title: "Interactive graph viewer", sandbox: "allow-scripts allow-same-origin allow-downloads" });
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
