/**
 * The trace figure, for the static page (`trace --format html`) and for pages that redraw it in
 * the browser: `traceFigure` gives the markup (the outcome list and the laid-out SVG; nothing
 * in it needs a script to draw), `figureStyle` its CSS, `figureScript` the script that lights
 * one outcome's path when it is chosen (by click, Enter or Space). Browser-safe: no Node modules.
 *
 * The script works on every `.netfate-figure` in the document when it runs, and on any added
 * later by calling `window.netfateFigure.init(element)`.
 */
import type { Evaluation } from "../../netfilter/model.js";
import { packetText } from "../describe.js";
import { buildFigure } from "./figure-model.js";
import { layoutFigure } from "./layout.js";
import { FONT_FAMILY, FONT_SIZE } from "./metrics.js";
import { esc, figureSvg } from "./render.js";

export async function traceFigure(e: Evaluation): Promise<string> {
  const f = buildFigure(e);
  const placed = await layoutFigure(f);
  const title = `netfate trace of ${packetText(e.packet)}`;
  const list = f.outcomes.map((o) =>
    `<li><button type="button" class="nf-outcome ${o.verdict}" data-outcome="${o.index}" aria-pressed="false">` +
    `<span class="nf-chip" aria-hidden="true"></span><span class="nf-heading">${esc(o.heading)}</span> ` +
    `<span class="nf-fate">${esc(o.fate)}</span><span class="nf-final">final packet: <code>${esc(o.final)}</code></span></button></li>`).join("\n");
  return `<div class="netfate-figure">
<ol class="nf-outcomes" aria-label="outcomes">
${list}
</ol>
<div class="nf-legend" aria-hidden="true"><span class="jump">jump</span><span class="goto">goto</span><span class="return">return</span><span class="flow">next hook / table</span><span class="rw">rewrite</span></div>
<div class="nf-scroll">
${figureSvg(placed, title)}
</div>
</div>`;
}

export const figureStyle = `
.netfate-figure{--nf-red:#c62828;--nf-red-bg:#fdecea;--nf-green:#2e7d32;--nf-green-bg:#e8f5e9;--nf-grey:#616161;--nf-grey-bg:#eeeeee;--nf-blue:#1565c0;--nf-teal:#00695c;--nf-amber:#8d5a00}
.netfate-figure .nf-outcomes{list-style:none;padding:0;margin:0 0 10px;display:flex;flex-wrap:wrap;gap:8px}
.netfate-figure .nf-outcome{font:inherit;text-align:left;cursor:pointer;border:2px solid #bbb;border-radius:8px;background:#fff;padding:6px 10px;display:grid;grid-template-columns:auto 1fr;column-gap:8px;max-width:44em}
.netfate-figure .nf-outcome .nf-chip{grid-row:1/4;width:12px;border-radius:3px;background:var(--nf-grey)}
.netfate-figure .nf-outcome.lost .nf-chip{background:var(--nf-red)} .netfate-figure .nf-outcome.through .nf-chip{background:var(--nf-green)}
.netfate-figure .nf-heading{font-weight:600} .netfate-figure .nf-final{color:#444;font-size:13px}
.netfate-figure .nf-outcome[aria-pressed="true"]{border-color:#222;background:#f5f7ff}
.netfate-figure .nf-outcome:focus-visible{outline:3px solid var(--nf-blue);outline-offset:2px}
.netfate-figure .nf-legend{display:flex;gap:16px;font-size:12px;color:#444;margin:0 0 8px}
.netfate-figure .nf-legend span::before{content:"";display:inline-block;width:28px;height:0;vertical-align:middle;margin-right:4px;border-top:2px solid #555}
.netfate-figure .nf-legend .goto::before{border-top-style:dashed} .netfate-figure .nf-legend .return::before{border-top-style:dotted}
.netfate-figure .nf-legend .flow::before{border-top-color:#888} .netfate-figure .nf-legend .rw::before{border-top:10px solid #e0f2f1;width:18px}
.nf-graph text{font-family:${FONT_FAMILY};font-size:${FONT_SIZE}px;fill:#222;white-space:pre}
.nf-graph .lane>.frame{fill:#f7f8fa;stroke:#c9ced6;stroke-width:1}
.nf-graph .group>.frame{fill:#fff;stroke:#d8dce3;stroke-dasharray:4 3}
.nf-graph .lane-title{font-weight:700;fill:#3b4a5e}
.nf-graph .lane-title,.nf-graph .group-title{paint-order:stroke;stroke:#f7f8fa;stroke-width:4px;stroke-linejoin:round}
.nf-graph .group-title{fill:#6b7685}
.nf-graph .box>.frame{fill:#fff;stroke:#8a94a3;stroke-width:1}
.nf-graph .box.start>.frame{fill:#e3f2fd;stroke:var(--nf-blue)}
.nf-graph .box.routing>.frame{fill:#fff8e1;stroke:#b08900}
.nf-graph .box.fate>.frame{stroke-width:3}
.nf-graph .box.fate.lost>.frame{fill:var(--nf-red-bg);stroke:var(--nf-red)}
.nf-graph .box.fate.through>.frame{fill:var(--nf-green-bg);stroke:var(--nf-green)}
.nf-graph .box.fate.unknown>.frame,.nf-graph .box.fate.indeterminate>.frame{fill:var(--nf-grey-bg);stroke:var(--nf-grey)}
.nf-graph .box.fate.lost .title{fill:var(--nf-red)} .nf-graph .box.fate.through .title{fill:var(--nf-green)}
.nf-graph .box.fate{cursor:pointer}
.nf-graph .title{font-weight:700} .nf-graph .sub{fill:#333}
.nf-graph .row-bg{fill:transparent} .nf-graph .row.on .row-bg{fill:#fff3c4}
.nf-graph .head{font-weight:700;fill:#1a237e} .nf-graph .rule{fill:#455a64}
.nf-graph .rewrite{fill:var(--nf-teal);font-weight:700} .nf-graph .branch,.nf-graph .uncertain{fill:var(--nf-amber)} .nf-graph .log{fill:#777}
.nf-graph .return-label{fill:#555;font-style:italic}
.nf-graph .link path{fill:none;stroke:#8a94a3;stroke-width:1.5}
.nf-graph .link.goto path{stroke-dasharray:7 4} .nf-graph .link.return path{stroke-dasharray:2 3} .nf-graph .link.flow path{stroke:#a6adb8}
.nf-graph .arrow path{fill:#8a94a3}
.nf-graph .label-bg{fill:#e0f2f1;stroke:#80cbc4}
.nf-graph .link.return .label-bg{fill:#fff;stroke:#ddd}
.nf-graph.nf-lit .box:not(.on),.nf-graph.nf-lit .link:not(.on){opacity:.35}
.nf-graph .link.on path{stroke:#37474f;stroke-width:2.5}
.nf-graph .box.on>.frame{stroke-width:2}
.nf-graph .box.fate.on>.frame{stroke-width:4}
`;

export const figureScript = `
(function () {
  function show(root, i) {
    root.querySelectorAll(".on").forEach(function (el) { el.classList.remove("on"); });
    root.querySelectorAll("[data-o]").forEach(function (el) {
      if ((" " + el.getAttribute("data-o") + " ").indexOf(" " + i + " ") >= 0) el.classList.add("on");
    });
    root.querySelectorAll("button[data-outcome]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-outcome") === String(i) ? "true" : "false");
    });
    var svg = root.querySelector(".nf-graph");
    if (svg) svg.classList.add("nf-lit");
    root.setAttribute("data-shown", String(i));
  }
  function init(root) {
    if (root.getAttribute("data-nf-ready")) return;
    root.setAttribute("data-nf-ready", "1");
    root.addEventListener("click", function (ev) {
      var t = ev.target && ev.target.closest ? ev.target.closest("[data-outcome]") : null;
      if (t && root.contains(t)) show(root, Number(t.getAttribute("data-outcome")));
    });
    show(root, 0);
  }
  window.netfateFigure = { init: init, show: show };
  document.querySelectorAll(".netfate-figure").forEach(init);
})();
`;
