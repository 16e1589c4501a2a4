/**
 * One self-contained HTML page for a trace: the figure (laid out here, drawn without any
 * script), the outcomes to choose from, and the evaluation as JSON for anyone who wants to
 * read it back. A Content-Security-Policy forbids every fetch: the page works offline and
 * nothing in it can reach the network.
 */
import type { Evaluation } from "../netfilter/model.js";
import { packetText } from "./describe.js";
import { evaluationJson } from "./json.js";
import { figureScript, figureStyle, traceFigure } from "./page/figure.js";
import { esc } from "./page/render.js";
import { loadProblems, problemNote } from "./text.js";

export { esc };

/** Allows the page's own inline style and script and nothing else: no request leaves it. */
export const OFFLINE_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

export async function htmlPage(e: Evaluation): Promise<string> {
  const packet = packetText(e.packet);
  const figure = await traceFigure(e);
  const notes = loadProblems(e).map((p) => `<li>${esc(problemNote(p))}</li>`).join("\n");
  const data = JSON.stringify(evaluationJson(e)).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${OFFLINE_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>netfate: ${esc(packet)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:20px;color:#222;background:#fff}
h1{font-size:18px;margin:0 0 12px} h1 code{font-family:monospace;background:#f1f3f6;padding:2px 6px;border-radius:4px}
.notes{color:#8d5a00;font-size:13px}
${figureStyle}
</style></head>
<body>
<h1>netfate: <code>${esc(packet)}</code></h1>
${figure}
${notes ? `<ul class="notes">\n${notes}\n</ul>` : ""}
<script type="application/json" id="netfate-data">${data}</script>
<script>${figureScript}</script>
</body></html>
`;
}
