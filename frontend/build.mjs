// Bundle the viewer into ONE minified script and one stylesheet inside the Python package.
import { build, transform } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "torchscope", "render", "assets");
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome100", "firefox100", "safari15"],
  legalComments: "none",
  outfile: join(out, "viewer.js"),
  logLevel: "warning",
});
const css = await transform(readFileSync(join(here, "src", "viewer.css"), "utf8"), { loader: "css", minify: true });
writeFileSync(join(out, "viewer.css"), css.code);
console.log(`wrote ${join(out, "viewer.js")} and viewer.css`);

// The report page's script and stylesheet (render/report_page.py inlines both).
await build({
  entryPoints: [join(here, "src", "report", "main.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome100", "firefox100", "safari15"],
  legalComments: "none",
  outfile: join(out, "report.js"),
  logLevel: "warning",
});
const reportCss = await transform(readFileSync(join(here, "src", "report", "report.css"), "utf8"), { loader: "css", minify: true });
writeFileSync(join(out, "report.css"), reportCss.code);
console.log(`wrote ${join(out, "report.js")} and report.css`);
