// Styles of the graph itself, shared by the page and by exported SVG files.
export const SVG_STYLE = `
.ts-svg text{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;fill:#1f2933}
.ts-n rect{stroke:#5b6b7d;stroke-width:1}
.ts-n{cursor:pointer}
.ts-module rect,.ts-run rect,.ts-iogroup rect{stroke-width:1.6;stroke:#44546a}
.ts-run>rect{stroke-dasharray:none;filter:drop-shadow(3px 3px 0 #c7d0db)}
.ts-io>rect{fill:#ffffff;stroke:#1f2933;stroke-dasharray:4 2}
.ts-l{font-size:12px;font-weight:600}
.ts-s{font-size:11px;fill:#3e4c59;font-family:ui-monospace,'SFMono-Regular',Menlo,Consolas,monospace}
.ts-plus{font-size:14px;font-weight:700;fill:#44546a}
.ts-badge rect{fill:#7b2cbf;stroke:none}
.ts-badge text{fill:#fff;font-size:10.5px;font-weight:700;text-anchor:middle}
.ts-gbox{fill:#f7f9fc;stroke:#9aa5b1;stroke-width:1.2}
.ts-ghead{fill:#e4e9f0;stroke:none;cursor:pointer}
.ts-d1 .ts-gbox{fill:#f3f6fb}.ts-d2 .ts-gbox{fill:#eef3f9}.ts-d3 .ts-gbox{fill:#fbfaf5}
.ts-gl{font-size:12px;font-weight:700;cursor:pointer}
.ts-gt{font-weight:400;fill:#52606d}
.ts-e{fill:none;stroke:#7b8794;stroke-width:1.2;marker-end:url(#ts-arrow)}
.ts-x{stroke:#9aa5b1;stroke-opacity:.75}
.ts-o{stroke:#b8c2cc;stroke-opacity:.5;stroke-dasharray:3 3}
.ts-arrowhead{fill:#7b8794}
.ts-hit>rect:first-of-type{stroke:#e8590c;stroke-width:3.5}
.ts-sel>rect:first-of-type{stroke:#1c7ed6;stroke-width:3.5}
.ts-light text{fill:#ffffff}.ts-light .ts-s{fill:#e2e8f0}
.ts-far text,.ts-far .ts-badge{display:none}
`;
