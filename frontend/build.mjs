// Bundle the two frontends into the Python package, each ONE minified script + stylesheet:
// the graph viewer (embedded in self-contained HTML files) and the live dashboard (served
// by `torchscope serve`). Nothing is fetched at run time: uPlot and dagre are bundled.
import { build, transform } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SVG_STYLE } from "./src/style.js";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..", "src", "torchscope");
const common = {
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome100", "firefox100", "safari15"],
  legalComments: "none",
  logLevel: "warning",
};

// The graph viewer.
const viewerOut = join(pkg, "render", "assets");
mkdirSync(viewerOut, { recursive: true });
await build({ ...common, entryPoints: [join(here, "src", "main.js")], outfile: join(viewerOut, "viewer.js") });
const viewerCss = readFileSync(join(here, "src", "viewer.css"), "utf8");
writeFileSync(join(viewerOut, "viewer.css"), (await transform(viewerCss, { loader: "css", minify: true })).code);

// The dashboard: its own styles, uPlot's, and the viewer's (the Model page draws graphs),
// including the graph styles the viewer otherwise injects at run time (the dashboard's
// Content-Security-Policy allows no inline style, so they ship in the stylesheet).
const dashOut = join(pkg, "web", "assets");
mkdirSync(dashOut, { recursive: true });
await build({
  ...common,
  entryPoints: [join(here, "src", "dashboard", "main.js")],
  outfile: join(dashOut, "dashboard.js"),
});
const dashCss = [
  readFileSync(join(here, "node_modules", "uplot", "dist", "uPlot.min.css"), "utf8"),
  viewerCss,
  SVG_STYLE,
  readFileSync(join(here, "src", "dashboard", "dashboard.css"), "utf8"),
].join("\n");
writeFileSync(join(dashOut, "dashboard.css"), (await transform(dashCss, { loader: "css", minify: true })).code);
console.log(`wrote ${viewerOut}/viewer.{js,css} and ${dashOut}/dashboard.{js,css}`);
