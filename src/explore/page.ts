/**
 * The interactive page as one self-contained HTML file: the node's inputs (as JSON), netfate's
 * engine (run in a Worker made from its text) and the page's own script and style, all
 * inline. A Content-Security-Policy forbids every fetch, image, font, frame and form target:
 * the page can reach nothing beyond itself, and nothing typed in it leaves the machine.
 */
import type { ExploreData } from "./session.js";
import { escapeHtml } from "./markup.js";
import { PAGE_STYLE } from "./style.js";

export interface PageParts {
  /** dist/browser/explore-engine.js */
  engine: string;
  /** dist/browser/explore-ui.js */
  ui: string;
  data: ExploreData;
  /**
   * What a drawing of the trace needs in the page besides its HTML: its style, and a script
   * run once at load (it hears "netfate:trace" on #trace each time a new trace is put in).
   */
  figure?: { style: string; script: string };
  /** Base64 SHA-256 of a text (the CSP names the one script that may run by its hash). */
  sha256(text: string): string;
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

const BODY = `<header>
<h1>netfate explore</h1>
<p id="status" role="status" aria-live="polite">Loading the node…</p>
<details id="about"><summary>Inputs and notes</summary><ul id="inputs"></ul><ul id="notes"></ul></details>
</header>
<main>
<section id="packet-panel" aria-labelledby="packet-h">
<h2 id="packet-h">Packet</h2>
<label for="packet">Packet (<code>tcp 10.0.0.1:40000 -&gt; 10.96.0.10:80 in eth0</code>), a kernel LOG line, or JSON</label>
<input id="packet" type="text" spellcheck="false" autocomplete="off">
<p id="packet-error" role="alert"></p>
<p id="packet-notes" class="note"></p>
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
<p id="trace-said" class="note" role="status" aria-live="polite"></p>
<div id="trace"></div>
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
${BODY}
<script type="application/json" id="netfate-inputs">${jsonScriptText(p.data)}</script>
<script type="text/plain" id="netfate-engine">${scriptText(p.engine)}</script>
${figure !== undefined ? `<script>${figure}</script>\n` : ""}<script>${ui}</script>
</body>
</html>
`;
}
