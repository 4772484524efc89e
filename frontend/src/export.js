// Export of the current view (every visible node, not just the window) as SVG or PNG.
import { SVG_STYLE } from "./style.js";

const MAX_CANVAS = 16000;

export function exportSVGText(v) {
  const [w, h] = v.size;
  const clone = v.svg.cloneNode(true);
  clone.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  clone.classList.remove("ts-far");
  clone.setAttribute("viewBox", `-10 -10 ${w + 20} ${h + 20}`);
  clone.setAttribute("width", String(w + 20));
  clone.setAttribute("height", String(h + 20));
  clone.querySelector(".ts-viewport").removeAttribute("transform");
  const style = document.createElementNS("http://www.w3.org/2000/svg", "style");
  style.textContent = SVG_STYLE;
  clone.insertBefore(style, clone.firstChild);
  return new XMLSerializer().serializeToString(clone);
}

export function exportPNG(v) {
  const text = exportSVGText(v);
  const [w, h] = v.size;
  const scale = Math.min(2, MAX_CANVAS / (w + 20), MAX_CANVAS / (h + 20));
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round((w + 20) * scale));
      canvas.height = Math.max(1, Math.round((h + 20) * scale));
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("PNG export failed"))), "image/png");
    };
    img.onerror = () => reject(new Error("could not draw the SVG for PNG export"));
    img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(text);
  });
}
