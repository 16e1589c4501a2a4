/**
 * The interactive page's own script (bundled to dist/browser/explore-ui.js): DOM only. It
 * starts the engine in a Worker from the page's own text (a blob: URL, the one thing the
 * page's policy lets a worker come from), hands it the node's inputs, and turns what the
 * person does into messages: a packet typed or a LOG line pasted (traced as they type), a rule
 * search, a "mentions" question, a step clicked (its whole chain).
 */
import type { ListedRule, Reply, Request } from "./engine.js";
import type { ChainRef } from "./rules.js";
import type { PacketSpec } from "../model/packet.js";
import type { FirstTraceFacts } from "./page.js";
import { notesText, outcomesSaid } from "./markup.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** Typing pauses this long before the packet is traced again. */
const DEBOUNCE_MS = 120;

const status = $("status");
const packetInput = $<HTMLInputElement>("packet");
const packetError = $("packet-error");
const trace = $("trace");
const verbose = $<HTMLInputElement>("verbose");

let nextId = 1;
/** The latest request of each kind: an older answer arriving late is dropped. */
const latest: Record<string, number> = {};

const worker = new Worker(URL.createObjectURL(new Blob([$("netfate-engine").textContent ?? ""], { type: "text/javascript" })));
worker.onerror = (e) => setStatus(`The engine stopped: ${e.message}`);
worker.onmessage = (ev: MessageEvent<Reply>) => onReply(ev.data);

function send(m: Request): void {
  if ("id" in m) latest[m.type] = m.id;
  worker.postMessage(m);
}

function setStatus(text: string): void {
  status.textContent = text;
}

function debounce(f: () => void, ms: number): () => void {
  let t: ReturnType<typeof setTimeout> | undefined;
  return () => {
    if (t !== undefined) clearTimeout(t);
    t = setTimeout(f, ms);
  };
}

// ---------------------------------------------------------------- the packet

/** Where the packet text came from last: fields write the line; the line fills the fields. */
let fromFields = false;

function traceNow(): void {
  const text = packetInput.value;
  if (!text.trim()) {
    packetError.textContent = "";
    return;
  }
  send({ type: "trace", id: nextId++, text, verbose: verbose.checked });
}
const traceSoon = debounce(traceNow, DEBOUNCE_MS);

packetInput.addEventListener("input", () => {
  fromFields = false;
  traceSoon();
});
verbose.addEventListener("change", traceNow);

const PROTO_NAMES: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp" };
const field = (id: string) => $<HTMLInputElement>(`f-${id}`);

function endpoint(addr: string, port: string): string {
  const a = addr.trim();
  const p = port.trim();
  if (!p) return a;
  return a.includes(":") ? `[${a}]:${p}` : `${a}:${p}`;
}

/** The one-line packet the fields describe. */
function lineOfFields(): string {
  const src = endpoint(field("src").value, field("sport").value);
  const dst = endpoint(field("dst").value, field("dport").value);
  const from = field("in").value.trim();
  const state = $<HTMLSelectElement>("f-state").value;
  const words = [$<HTMLSelectElement>("f-proto").value, ...(src ? [src] : []), "->", dst, from === "local" ? "local" : from ? `in ${from}` : ""];
  if (state !== "new") words.push(state);
  return words.filter((w) => w !== "").join(" ");
}

for (const id of ["proto", "src", "sport", "dst", "dport", "in", "state"]) {
  $(`f-${id}`).addEventListener("input", () => {
    fromFields = true;
    packetInput.value = lineOfFields();
    traceSoon();
  });
}

function fillFields(p: PacketSpec): void {
  const proto = $<HTMLSelectElement>("f-proto");
  const name = PROTO_NAMES[p.proto];
  if (name && [...proto.options].some((o) => o.value === name)) proto.value = name;
  field("src").value = p.src ?? "";
  field("sport").value = p.sport !== undefined ? String(p.sport) : "";
  field("dst").value = p.dst;
  field("dport").value = p.dport !== undefined ? String(p.dport) : "";
  field("in").value = p.from;
  $<HTMLSelectElement>("f-state").value = p.state ?? "new";
}

// ---------------------------------------------------------------- rule lists

function ruleItem(r: ListedRule, highlight: boolean): HTMLLIElement {
  const li = document.createElement("li");
  const b = document.createElement("button");
  b.type = "button";
  b.dataset.chain = JSON.stringify({ ref: r.ref, rule: r.rule });
  const where = document.createElement("div");
  where.className = "where";
  where.textContent = `${r.place} ${r.rule === "policy" ? "policy" : `#${r.rule}`}${r.line !== undefined ? ` (line ${r.line})` : ""}`;
  const text = document.createElement("pre");
  text.textContent = r.text;
  b.append(where, text);
  for (const w of r.why ?? []) {
    const why = document.createElement("div");
    why.className = "why";
    why.textContent = `mentions it: ${w}`;
    b.append(why);
  }
  li.append(b);
  if (highlight) {
    li.className = "hit";
    b.setAttribute("aria-current", "true");
  }
  return li;
}

function showList(list: HTMLElement, rules: ListedRule[], highlight?: number | "policy"): HTMLLIElement | undefined {
  list.replaceChildren();
  let hit: HTMLLIElement | undefined;
  for (const r of rules) {
    const li = ruleItem(r, highlight !== undefined && r.rule === highlight);
    if (li.className === "hit") hit = li;
    list.append(li);
  }
  return hit;
}

function countText(shown: number, total: number, what: string): string {
  if (total === 0) return `no rule ${what}`;
  return `${total} rule${total === 1 ? "" : "s"} ${what}${shown < total ? ` (the first ${shown} shown)` : ""}`;
}

const search = $<HTMLInputElement>("search");
const searchNow = () => {
  if (search.value.trim()) send({ type: "search", id: nextId++, query: search.value });
  else {
    $("search-results").replaceChildren();
    $("search-count").textContent = "";
  }
};
search.addEventListener("input", debounce(searchNow, 200));
$("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  searchNow();
});

$("mentions-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const address = $<HTMLInputElement>("mention-addr").value.trim();
  const portText = $<HTMLInputElement>("mention-port").value.trim();
  const port = portText === "" ? undefined : /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (Number.isNaN(port)) {
    $("mentions-count").textContent = `port ${JSON.stringify(portText)} is not a number 0-65535`;
    return;
  }
  send({ type: "mentions", id: nextId++, ...(address ? { address } : {}), ...(port !== undefined ? { port } : {}) });
});

function openChain(ref: ChainRef, rule: number | "policy"): void {
  send({ type: "chain", id: nextId++, ref, rule });
}

// Any element carrying a chain reference opens that chain: a step of the trace, a rule found.
document.addEventListener("click", (e) => {
  const el = (e.target as Element | null)?.closest?.("[data-chain]") as HTMLElement | null;
  if (!el?.dataset.chain) return;
  const { ref, rule } = JSON.parse(el.dataset.chain) as { ref: ChainRef; rule: number | "policy" };
  openChain(ref, rule);
});

// ---------------------------------------------------------------- answers

function onReply(r: Reply): void {
  switch (r.type) {
    case "loaded": {
      document.body.dataset.ready = "1";
      setStatus(`Loaded ${r.rules.toLocaleString("en")} rules in ${(r.ms / 1000).toFixed(2)} s — everything runs in this page; nothing leaves it.`);
      const notes = $("notes");
      for (const n of [...r.notes, ...r.errors.map((x) => `error: ${x}`)]) {
        const li = document.createElement("li");
        li.textContent = n;
        notes.append(li);
      }
      for (const f of r.files) {
        const li = document.createElement("li");
        li.textContent = f;
        $("inputs").append(li);
      }
      $("approximate").textContent = r.approximate;
      // The trace the page was written with is the engine's answer for its packet: traced again
      // only if the line was changed meanwhile (an edit sends its own trace too; the later answer wins).
      if (!first) {
        if (r.packet) packetInput.value = r.packet;
        traceNow();
      } else if (packetInput.value !== first.text || verbose.checked) traceNow();
      return;
    }
    case "load-failed":
      setStatus(`The inputs cannot be used: ${r.error}`);
      return;
    case "failed":
      setStatus(`netfate failed: ${r.error}`);
      return;
    case "trace":
      if (r.id !== latest.trace) return;
      if (!r.ok) {
        packetInput.setAttribute("aria-invalid", "true");
        packetError.textContent = `${r.col ? `column ${r.col}: ` : ""}${r.error}`;
        $("packet-notes").textContent = "";
        // The trace shown is of the last packet that parsed: dimmed until the line parses again.
        trace.classList.add("stale");
        return;
      }
      packetInput.removeAttribute("aria-invalid");
      trace.classList.remove("stale");
      packetError.textContent = "";
      $("packet-notes").textContent = notesText(r.notes);
      if (r.drawing === "pending") {
        // The words now, the picture when it is laid out: meanwhile the last picture stays, dimmed.
        const last = trace.querySelector(".netfate-figure");
        trace.innerHTML = r.html;
        if (last) {
          last.classList.add("stale");
          last.setAttribute("aria-hidden", "true");
          trace.prepend(last);
        }
        trace.dataset.drawn = "";
      } else {
        trace.innerHTML = r.html;
        trace.dataset.drawn = String(r.id);
      }
      trace.dataset.fates = r.fates.join(",");
      // What a screen reader says of each new trace: its outcomes in a line, not the whole trace.
      $("trace-said").textContent = outcomesSaid(r.fates);
      trace.dataset.id = String(r.id);
      if (r.drawing !== "pending") {
        // For a drawing's own script (PageParts.figure), which binds to what was just put in.
        trace.dispatchEvent(new CustomEvent("netfate:trace", { bubbles: true }));
        // The drawing's outcome buttons and highlighting (its script, src/explain/page/figure.ts).
        const drawing = (globalThis as { netfateFigure?: { init(root: Element): void } }).netfateFigure;
        trace.querySelectorAll(".netfate-figure").forEach((f) => drawing?.init(f));
      }
      $("trace-time").textContent = `(${r.ms < 1 ? "<1" : Math.round(r.ms)} ms)`;
      if (!fromFields) fillFields(r.packet);
      return;
    case "rules": {
      if (r.id !== latest[r.kind]) return;
      const list = $(`${r.kind}-results`);
      showList(list, r.rules);
      $(`${r.kind}-count`).textContent = r.error ?? countText(r.rules.length, r.total, r.kind === "search" ? "hold it" : "mention it");
      list.dataset.total = String(r.total);
      return;
    }
    case "chain": {
      if (r.id !== latest.chain) return;
      $("chain-name").textContent = r.error ? `${r.place}: ${r.error}` : r.place;
      const hit = showList($("chain-rules"), r.rules, r.highlight);
      const panel = $("chain-panel");
      panel.focus({ preventScroll: true });
      panel.scrollIntoView({ block: "nearest" });
      hit?.scrollIntoView({ block: "center" });
      return;
    }
  }
}

/** The trace drawn when the page was written (page.ts), already shown: its packet fills the fields. */
const firstFacts = document.getElementById("netfate-first-trace");
const first = firstFacts ? (JSON.parse(firstFacts.textContent ?? "{}") as FirstTraceFacts) : undefined;
if (first) fillFields(first.packet);

send({ type: "load", data: $("netfate-inputs").textContent ?? "{}", elk: $("netfate-elk").textContent ?? "" });
