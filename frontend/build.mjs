// Bundle the frontends into the Python package, each ONE minified script + stylesheet:
// the graph viewer and the report page (inlined into self-contained HTML files) and the
// live dashboard (served by `torchscope serve`). Nothing is fetched at run time: dagre and
// uPlot are bundled.
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
const minCss = async (text) => (await transform(text, { loader: "css", minify: true })).code;

// The graph viewer.
const out = join(pkg, "render", "assets");
mkdirSync(out, { recursive: true });
await build({ ...common, entryPoints: [join(here, "src", "main.js")], outfile: join(out, "viewer.js") });
const viewerCss = readFileSync(join(here, "src", "viewer.css"), "utf8");
writeFileSync(join(out, "viewer.css"), await minCss(viewerCss));
console.log(`wrote ${join(out, "viewer.js")} and viewer.css`);

// The report page's script and stylesheet (render/report_page.py inlines both).
await build({ ...common, entryPoints: [join(here, "src", "report", "main.js")], outfile: join(out, "report.js") });
writeFileSync(join(out, "report.css"), await minCss(readFileSync(join(here, "src", "report", "report.css"), "utf8")));
console.log(`wrote ${join(out, "report.js")} and report.css`);

// The dashboard: its own styles, uPlot's, and the viewer's (the Model page draws graphs),
// including the graph styles the viewer otherwise injects at run time (the dashboard's
// Content-Security-Policy allows no inline style, so they ship in the stylesheet).
const dashOut = join(pkg, "web", "assets");
mkdirSync(dashOut, { recursive: true });
await build({ ...common, entryPoints: [join(here, "src", "dashboard", "main.js")], outfile: join(dashOut, "dashboard.js") });
const dashCss = [
  readFileSync(join(here, "node_modules", "uplot", "dist", "uPlot.min.css"), "utf8"),
  viewerCss,
  SVG_STYLE,
  readFileSync(join(here, "src", "dashboard", "dashboard.css"), "utf8"),
].join("\n");
writeFileSync(join(dashOut, "dashboard.css"), await minCss(dashCss));
console.log(`wrote ${join(dashOut, "dashboard.js")} and dashboard.css`);
