/**
 * The interactive page as one self-contained HTML file: the node's inputs (as JSON), netfate's
 * engine (run in a Worker made from its text), ELK's worker script (started by the engine for
 * the drawings), the page's own script and style, and the first packet's trace already drawn
 * (so that it shows before any script has run), all inline. A Content-Security-Policy forbids every fetch, image, font, frame and form target:
 * the page can reach nothing beyond itself, and nothing typed in it leaves the machine.
 */
import type { ExploreData } from "./session.js";
import type { TraceReply } from "./engine.js";
import { escapeHtml, notesText, outcomesSaid } from "./markup.js";
import { PAGE_STYLE } from "./style.js";

export interface PageParts {
  /** dist/browser/explore-engine.js */
  engine: string;
  /** dist/browser/explore-ui.js */
  ui: string;
  /** dist/browser/explore-elk.js */
  elk: string;
  /** The trace of the packet the page opens on (data.packet), drawn by the engine's own traceReply. */
  first?: FirstTrace;
  data: ExploreData;
  /**
   * What a drawing of the trace needs in the page besides its HTML: its style, and a script
   * run once at load (it hears "netfate:trace" on #trace each time a new trace is put in).
   */
  figure?: { style: string; script: string };
  /** Base64 SHA-256 of a text (the CSP names the one script that may run by its hash). */
  sha256(text: string): string;
}

/** What the page shows before its engine has loaded the node: the trace of data.packet. */
export type FirstTrace = Extract<TraceReply, { ok: true }> & { text: string };

/** The first trace's facts the page's script needs (the fields it fills, the notes it shows), besides its markup. */
export interface FirstTraceFacts {
  text: string;
  packet: FirstTrace["packet"];
  notes: string[];
}

/** Script text that cannot end its <script> element early: `</script` and `<!--` escaped as JS reads them the same. */
export function scriptText(js: string): string {
  return js.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

/** JSON that cannot end its <script> element: every `<` as \u003c, which JSON reads back the same. */
export function jsonScriptText(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

/** The policy: scripts only the page's own (by hash), a Worker only from the page's own blob, no connection anywhere. */
export function contentSecurityPolicy(scriptHashes: readonly string[]): string {
  return [
    "default-src 'none'",
    `script-src ${scriptHashes.map((h) => `'sha256-${h}'`).join(" ")}`,
    "worker-src blob:",
    // The drawing of a trace may set styles on its elements; styles cannot reach the network under this policy.
    "style-src 'unsafe-inline'",
    "img-src data:",
    "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
}

function title(d: ExploreData): string {
  const files = d.rules.map((r) => r.file).join(", ");
  return `netfate explore — ${files}`;
}

/** The page's body; with the first trace in place when there is one (the script then only takes over). */
function body(first: FirstTrace | undefined): string {
  const loading = first ? "Loading the node… (the trace shown was drawn when the page was written)" : "Loading the node…";
  return `<header>
<h1>netfate explore</h1>
<p id="status" role="status" aria-live="polite">${loading}</p>
<details id="about"><summary>Inputs and notes</summary><ul id="inputs"></ul><ul id="notes"></ul></details>
</header>
<main>
<section id="packet-panel" aria-labelledby="packet-h">
<h2 id="packet-h">Packet</h2>
<label for="packet">Packet (<code>tcp 10.0.0.1:40000 -&gt; 10.96.0.10:80 in eth0</code>), a kernel LOG line, or JSON</label>
<input id="packet" type="text" spellcheck="false" autocomplete="off"${first ? ` value="${escapeHtml(first.text)}"` : ""}>
<p id="packet-error" role="alert"></p>
<p id="packet-notes" class="note">${first ? escapeHtml(notesText(first.notes)) : ""}</p>
<fieldset id="fields"><legend>Or edit its fields (this rewrites the line)</legend>
<label>protocol <select id="f-proto"><option>tcp</option><option>udp</option><option>icmp</option><option>icmpv6</option><option>sctp</option></select></label>
<label>source <input id="f-src" size="16" spellcheck="false"></label>
<label>port <input id="f-sport" size="5" inputmode="numeric"></label>
<label>destination <input id="f-dst" size="16" spellcheck="false"></label>
<label>port <input id="f-dport" size="5" inputmode="numeric"></label>
<label>arrives on <input id="f-in" size="8" spellcheck="false" title="an interface name, or local for a packet this node sends"></label>
<label>conntrack <select id="f-state"><option>new</option><option>established</option><option>related</option><option>invalid</option></select></label>
</fieldset>
<label class="check"><input type="checkbox" id="verbose"> also list the rules tried that did not match</label>
</section>
<section id="trace-panel" aria-labelledby="trace-h">
<h2 id="trace-h">Trace <span id="trace-time"></span></h2>
<p id="trace-said" class="note" role="status" aria-live="polite">${first ? escapeHtml(outcomesSaid(first.fates)) : ""}</p>
${first ? `<div id="trace" data-id="0" data-drawn="0" data-fates="${escapeHtml(first.fates.join(","))}" data-first="1">${first.html}</div>` : `<div id="trace"></div>`}
</section>
<aside id="tools">
<section id="chain-panel" aria-labelledby="chain-h" tabindex="-1">
<h2 id="chain-h">Chain <span id="chain-name">(choose a step of the trace)</span></h2>
<ol id="chain-rules" class="rules"></ol>
</section>
<section aria-labelledby="search-h">
<h2 id="search-h">Search the rules</h2>
<form id="search-form" role="search"><label for="search">words the rule holds, as the real tool prints it</label>
<input id="search" type="search" spellcheck="false" autocomplete="off"></form>
<p id="search-count" class="count"></p>
<ol id="search-results" class="rules"></ol>
</section>
<section aria-labelledby="mentions-h">
<h2 id="mentions-h">Which rules mention…</h2>
<form id="mentions-form">
<label>address or network <input id="mention-addr" size="18" spellcheck="false" placeholder="10.96.0.10"></label>
<label>port <input id="mention-port" size="5" inputmode="numeric"></label>
<button type="submit">Find</button>
</form>
<p id="approximate" class="note"></p>
<p id="mentions-count" class="count"></p>
<ol id="mentions-results" class="rules"></ol>
</section>
</aside>
</main>`;
}


function firstFacts(f: FirstTrace): FirstTraceFacts {
  return { text: f.text, packet: f.packet, notes: f.notes };
}

export function explorePage(p: PageParts): string {
  const ui = scriptText(p.ui);
  const figure = p.figure ? scriptText(p.figure.script) : undefined;
  const hashes = [p.sha256(ui), ...(figure !== undefined ? [p.sha256(figure)] : [])];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(hashes))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title(p.data))}</title>
<style>${PAGE_STYLE}${p.figure ? p.figure.style.replace(/<\/style/gi, "<\\/style") : ""}</style>
</head>
<body>
${body(p.first)}
<script type="application/json" id="netfate-inputs">${jsonScriptText(p.data)}</script>
${p.first ? `<script type="application/json" id="netfate-first-trace">${jsonScriptText(firstFacts(p.first))}</script>\n` : ""}<script type="text/plain" id="netfate-engine">${scriptText(p.engine)}</script>
<script type="text/plain" id="netfate-elk">${scriptText(p.elk)}</script>
${figure !== undefined ? `<script>${figure}</script>\n` : ""}<script>${ui}</script>
</body>
</html>
`;
}
