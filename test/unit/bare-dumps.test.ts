/**
 * A file straight from the tool that printed it (iptables-save, -S, -L, ipset save) skips the
 * extractor (inputs.ts): its result must be what the extractor would have made of it, and any
 * line that could be prose must send the text to the extractor instead.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readInput, rulesetsOf, type ParsedInput } from "../../src/inputs.js";
import { parseRules } from "../../src/parse.js";
import { listText } from "../../src/print/listing.js";
import { tableSpecText } from "../../src/print/save.js";
import { kubeProxyDump } from "../../bench/gen-kube-proxy.js";
import { hasShared, listShared, readShared, sections, sharedNotice } from "../support/shared.js";

const IPSET = [
  "create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536",
  "add KUBE-CLUSTER-IP 10.96.0.1,tcp:443",
  "# written by hand",
  "",
  "create NETS hash:net family inet hashsize 1024 maxelem 65536 timeout 600 comment",
  "add NETS 10.0.0.0/8 nomatch",
  "add NETS 192.168.0.0/16 timeout 300 comment \"lan\"",
  "",
].join("\n");

/** The input with every chain's rules loaded: two readings of a dump are then the same data. */
function loaded<T extends ParsedInput>(input: T): T {
  for (const rs of rulesetsOf(input)) for (const t of rs.tables) for (const c of t.chains) c.rules.load();
  return input;
}

describe("bare dumps skip the extractor", () => {
  it("an ipset save, also with CRLF line ends, reads as with --format ipset-save", () => {
    for (const text of [IPSET, IPSET.replace(/\n/g, "\r\n")]) {
      const auto = readInput(text, { file: "sets.txt", format: "auto" });
      const given = readInput(text, { file: "sets.txt", format: "ipset-save" });
      expect(auto.formatNote).toMatch(/^format ipset-save \(detected: /);
      expect(auto.diagnostics).toEqual([]);
      expect(auto.input).toEqual(given.input);
      expect(auto.input.kind === "sets" ? auto.input.sets.sets.map((s) => [s.name, s.entries.length]) : []).toEqual([["KUBE-CLUSTER-IP", 1], ["NETS", 2]]);
    }
  });

  it("an ipset save with a line of prose goes to the extractor, which sets the prose aside", () => {
    const text = `here are the sets on the node:\n${IPSET}`;
    const r = readInput(text, { file: "issue.md", format: "auto" });
    expect(r.input.kind).toBe("mixed");
    const blocks = r.input.kind === "mixed" ? r.input.blocks : [];
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks[0]!.firstLine).toBe(2);
    expect(blocks.every((b) => b.format === "ipset-save")).toBe(true);
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  });

  it("an iptables-save reads as with --format save, and prose sends it to the extractor", () => {
    const save = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    const auto = readInput(save, { file: "r", format: "auto" });
    expect(auto.formatNote).toMatch(/^format save \(detected: /);
    expect(loaded(auto.input)).toEqual(loaded(readInput(save, { file: "r", format: "save" }).input));
    expect(readInput(`Output:\n${save}`, { file: "r", format: "auto" }).input.kind).toBe("mixed");
  });
});

/** The fast path and the extractor (what `--format mixed` forces) agree on a bare text. */
function expectExtractorAgrees(text: string, file: string, format: string): void {
  const auto = readInput(text, { file, format: "auto" });
  expect(auto.formatNote.startsWith(`format ${format} (detected: `), auto.formatNote).toBe(true);
  const mixed = readInput(text, { file, format: "mixed" });
  expect(mixed.input.kind).toBe("mixed");
  const blocks = mixed.input.kind === "mixed" ? mixed.input.blocks : [];
  expect(blocks.map((b) => b.format)).toEqual([format]);
  expect(mixed.diagnostics).toEqual(auto.diagnostics);
  expect(loaded(blocks[0]!.input)).toEqual(loaded(auto.input));
}

describe("rows the detector must know as listing rows", () => {
  // Each was taken for text around the listing, which cut the listing in two and lost the row.
  const rows: Array<[string, string]> = [
    ["a rule without a target (it only counts)", "           all  --  anywhere             anywhere"],
    ["the same with -v", "    0     0            all  --  *      *       0.0.0.0/0            0.0.0.0/0"],
    ["a protocol by its long name", "DROP       mobility-header --  anywhere             anywhere             mh binding-update"],
    ["ipv6-nonxt", "DROP       ipv6-nonxt --  anywhere             anywhere"],
  ];
  for (const [what, row] of rows) {
    it(what, () => {
      const verbose = row.startsWith("    0");
      const header = verbose
        ? " pkts bytes target     prot opt in     out     source               destination"
        : "target     prot opt source               destination";
      const text = ["Chain INPUT (policy ACCEPT)", header, verbose ? "    0     0 ACCEPT     all  --  lo     *       0.0.0.0/0            0.0.0.0/0" : "ACCEPT     all  --  anywhere             anywhere", row, verbose ? "    0     0 ACCEPT     6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22" : "ACCEPT     tcp  --  anywhere             anywhere             tcp dpt:22", ""].join("\n");
      const r = readInput(text, { file: "l", format: "auto", family: row.includes("mobility") || row.includes("nonxt") ? "ipv6" : "ipv4", table: "filter" });
      expect(r.formatNote).toMatch(/^format list \(detected: /);
      expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      const rules = r.input.kind === "rules" ? r.input.ruleset.tables[0]!.chains.find((c) => c.name === "INPUT")!.rules.load() : [];
      expect(rules).toHaveLength(3);
    });
  }
});

describe("the extractor would have read a bare dump the same way", () => {
  const dumps = [kubeProxyDump({ services: 30 }), readFileSync(join(import.meta.dirname, "../../samples/host-firewall/rules.save"), "utf8")];

  it("for -S output and every kind of -L listing of each table", () => {
    for (const d of dumps) {
      const rs = parseRules(d).value;
      for (const t of rs.tables) {
        expectExtractorAgrees(tableSpecText(t, rs.family), `${t.name}.S`, "S");
        for (const o of [{}, { numeric: true }, { numeric: true, verbose: true }, { numeric: true, verbose: true, exact: true, lineNumbers: true }]) {
          expectExtractorAgrees(listText({ ...rs, tables: [t] }, o), `${t.name}.L`, "list");
        }
      }
    }
  });

  it("for an ipset save", () => {
    // As ipset prints it: no comment lines (the extractor takes those for text between dumps).
    expectExtractorAgrees(IPSET.replace(/^#.*\n/m, ""), "sets", "ipset-save");
  });

  it.skipIf(!hasShared)(hasShared ? "for the real tools' -S, -L and ipset save output" : sharedNotice("reference"), () => {
    let n = 0;
    for (const f of listShared("reference/iptables", ".txt")) {
      for (const [name, text] of sections(readShared("reference/iptables", f))) {
        const format = name === "S" ? "S" : /L/.test(name) && !/save|restore/.test(name) ? "list" : undefined;
        // iptables-nft's warning about legacy tables is text around the listing, for the extractor.
        if (!format || text.trim() === "" || /^# Warning/m.test(text)) continue;
        expectExtractorAgrees(text, f, format);
        n++;
      }
    }
    expect(n).toBeGreaterThan(20);
  });
});
