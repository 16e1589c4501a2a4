/**
 * The real iptables 1.8.9 tools are the oracle: for every reference case, parsing the
 * `## restore` input and printing it must give exactly what iptables-save printed, and the
 * saved text must print back unchanged. A line may differ only when its rule holds an
 * extension netfate does not know yet (test/support/gaps.ts); the count of those is reported.
 */
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { saveText, tableSpecText } from "../../src/print/save.js";
import { formatDiagnostic, type Diagnostic } from "../../src/model/diagnostics.js";
import type { Ruleset } from "../../src/model/ast.js";
import { hasShared, listShared, readShared, sections, sharedNotice, needsShared } from "../support/shared.js";
import { hasUnknownExtension, unexplainedDiffs } from "../support/gaps.js";
import { orderedChains } from "../../src/print/save.js";

const files = listShared("reference/iptables", ".txt");
/** What a restore input cannot say: the tool's header lines, and chain counters from live traffic. */
const stripComments = (s: string) =>
  s.split("\n").filter((l) => !/^# (Generated|Completed|Warning)/.test(l)).map((l) => l.replace(/^(:\S+ \S+) \[\d+:\d+\]$/, "$1 [0:0]")).join("\n");

/**
 * Known flavour difference, measured: iptables-legacy drops `! -o +` (and `-o +`) when it
 * restores, iptables-nft keeps it. netfate keeps what the input says.
 */
const LEGACY_DROPS_PLUS_IFACE = /^-A \S+ .*[!]? -[io] \+ /;

/** Which printed lines (0-based) belong to rules with unknown extensions. */
function unknownLines(rs: Ruleset, text: string): Set<number> {
  const flagged = new Set<string>();
  for (const t of rs.tables) for (const c of orderedChains(t)) for (const r of c.rules) if (hasUnknownExtension(r)) flagged.add(`${c.name}\u0000${t.name}\u0000${c.rules.indexOf(r)}`);
  const out = new Set<number>();
  const lines = text.split("\n");
  let table = "";
  const counters = new Map<string, number>();
  lines.forEach((l, i) => {
    const tm = /^\*(\w+)/.exec(l);
    if (tm) table = tm[1]!;
    const m = /^(?:\[\d+:\d+\] )?-A (\S+)/.exec(l);
    if (!m) return;
    const k = `${m[1]}\u0000${table}`;
    const n = counters.get(k) ?? 0;
    counters.set(k, n + 1);
    if (flagged.has(`${k}\u0000${n}`)) out.add(i);
  });
  return out;
}

describe.skipIf(!hasShared)("reference: restore input → canonical save", () => {
  if (!hasShared) it.skip(sharedNotice("reference tests"), () => {});
  for (const f of files) {
    const family = f.startsWith("ip6-") ? "ipv6" : "ipv4";
    const legacy = f.includes(".legacy.");
    const sec = sections(readShared("reference/iptables", f));
    const restore = sec.get("restore");
    const save = sec.get("save");
    const saveC = sec.get("save -c");
    if (restore === undefined || save === undefined) continue;
    it(`${f}: restore → save`, () => {
      const r = parseRules(restore, { family, file: f });
      expect(r.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic)).toEqual([]);
      const ours = saveText(r.value, { comments: false, counters: false });
      const theirs = stripComments(save);
      const unknown = unknownLines(r.value, ours);
      const oursLines = ours.split("\n");
      // Legacy drops lines' `-o +`: compare those lines with it removed.
      // Measured flavour differences: legacy drops `-o +`, nft drops NFLOG's --nflog-range.
      const adjusted = oursLines
        .map((l) => (legacy && LEGACY_DROPS_PLUS_IFACE.test(l) ? l.replace(/ !? ?-[io] \+(?= )/, "") : l))
        .map((l) => (!legacy ? l.replace(/ --nflog-range \d+/, "") : l))
        .map((l) => l.replace(/^(:\S+ \S+) \[\d+:\d+\]$/, "$1 [0:0]"))
        .join("\n");
      const { unexplained } = unexplainedDiffs(adjusted, theirs, (i) => unknown.has(i));
      expect(unexplained).toEqual([]);
    });
    for (const [name, text] of [["save", save], ["save -c", saveC]] as const) {
      if (text === undefined) continue;
      it(`${f}: ${name} round trip`, () => {
        const r = parseRules(text, { family, file: f });
        // iptables-nft's own "legacy tables present" line is reported, once, where it is; nothing else.
        const lines = text.split("\n");
        const legacyLines = lines.flatMap((l, i) => (/^# Warning: iptables-legacy tables present/.test(l) ? [i + 1] : []));
        const toolWarned = (d: Diagnostic) => d.severity === "warning" && legacyLines.includes(d.line);
        expect(r.diagnostics.filter((d) => d.severity !== "info" && !toolWarned(d)).map(formatDiagnostic)).toEqual([]);
        expect(r.diagnostics.filter(toolWarned).map((d) => d.line)).toEqual(legacyLines);
        const ours = saveText(r.value);
        const unknown = unknownLines(r.value, ours);
        expect(unexplainedDiffs(ours, text, (i) => unknown.has(i)).unexplained).toEqual([]);
      });
    }
    const S = sec.get("S");
    if (S !== undefined) {
      it(`${f}: -S round trip`, () => {
        const table = /^\*(\w+)/m.exec(save)?.[1] as "filter";
        const r = parseRules(S, { family, file: f, table, format: "S" });
        expect(r.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic)).toEqual([]);
        const ours = r.value.preamble.map((l) => l + "\n").join("") + r.value.tables.map((t) => tableSpecText(t, family)).join("");
        // In -S text the rule lines follow the -P/-N lines; map them the same way as save.
        const shift = 1 - r.value.preamble.length;
        const asSave = `*${table}\n` + ours.split("\n").slice(r.value.preamble.length).join("\n");
        const unknown = unknownLines(r.value, asSave);
        expect(unexplainedDiffs(ours, S, (i) => unknown.has(i + shift)).unexplained).toEqual([]);
      });
    }
  }
});

/** Extensions every reference case relies on must not all be unknown: the gaps shrink, never grow unnoticed. */
describe.skipIf(!hasShared)(needsShared("reference: how much is still generic"), () => {
  it("kube-proxy and Calico cases use only extensions netfate knows", () => {
    for (const f of files.filter((x) => /^(kube-proxy|calico)-/.test(x))) {
      const family = "ipv4";
      const r = parseRules(sections(readShared("reference/iptables", f)).get("save")!, { family, file: f });
      const generic = r.value.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.filter(hasUnknownExtension)));
      expect(generic.map((g) => JSON.stringify(g.matches.filter((m) => m.kind !== "match").map((m) => ("name" in m ? m.name : m.kind)))), f).toEqual([]);
    }
  });
});
