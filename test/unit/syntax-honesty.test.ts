/**
 * The dump readers never lose a rule or a table silently, never let a guess replace what the
 * input states, and refuse what iptables-restore refuses (the real tools' answers are pinned
 * in test/kernel/restore-refusals.test.ts; here, what netfate says of the same texts).
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { assembleInputs } from "../../src/assemble.js";
import { readInput, rulesetsOf } from "../../src/inputs.js";
import { findChain, findTable, isUnknown, type Chain, type Ruleset } from "../../src/model/ast.js";
import { buildNode } from "../../src/netfilter/model.js";
import { DiagnosticSink, type Diagnostic } from "../../src/model/diagnostics.js";
import { parseListing } from "../../src/syntax/listing.js";
import { saveText } from "../../src/print/save.js";
import { simpleNode } from "../support/simple-node.js";
import { sharedNotice, sharedPath, needsShared } from "../support/shared.js";

const CORPUS = sharedPath("corpus");
const corpus = (p: string) => readFileSync(`${CORPUS}/${p}`, "utf8");
const hasCorpus = existsSync(CORPUS);

const notInfo = (ds: Diagnostic[]) => ds.filter((d) => d.severity !== "info").map((d) => `${d.line}:${d.col}: ${d.severity}: ${d.message}`);
const chain = (rs: Ruleset, table: "raw" | "mangle" | "nat" | "filter", name: string): Chain => findChain(findTable(rs, table)!, name)!;

describe("the table of lines that do not name it", () => {
  const tableOf = (text: string) => {
    const r = parseRules(text, { format: "S" });
    return { tables: r.value.tables.map((t) => t.name), diagnostics: r.diagnostics.map((d) => `${d.severity}: ${d.message}`) };
  };

  it("is raw for the raw table's -S output with a DROP rule (DROP is refused in nat)", () => {
    const r = tableOf("-P PREROUTING ACCEPT\n-P OUTPUT ACCEPT\n-A PREROUTING -d 192.0.2.2/32 ! -i bridge1 -j DROP\n");
    expect(r.tables).toEqual(["raw"]);
    expect(r.diagnostics[0]).toMatch(/^info: table inferred as raw \(uses -j DROP, refused in nat; .*the policies shown, PREROUTING, OUTPUT, are how raw begins\)/);
  });

  it("is not told when the lines fit several tables and nothing chooses: said, and the lines left out", () => {
    const r = tableOf("-A PREROUTING -d 192.0.2.2/32 -j DROP\n");
    expect(r.tables).toEqual([]);
    expect(r.diagnostics).toEqual([
      "warning: cannot tell which table these lines are in (the lines fit raw or mangle (uses -j DROP, refused in nat; built-in chains PREROUTING)); they are left out: give --table",
    ]);
  });

  it("is the one given, whatever the lines look like", () => {
    const r = parseRules("-A PREROUTING -d 192.0.2.2/32 -j DROP\n", { format: "S", table: "mangle" });
    expect(r.value.tables.map((t) => t.name)).toEqual(["mangle"]);
    expect(r.diagnostics).toEqual([]);
  });

  it("is nat for MASQUERADE, and filter (not mangle) for TCPMSS, which every table takes", () => {
    expect(tableOf("-A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE\n").tables).toEqual(["nat"]);
    expect(tableOf("-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\n").tables).toEqual(["filter"]);
  });

  it("of a listing follows the built-in chains in the order a whole table lists them", () => {
    const sink = new DiagnosticSink("l");
    const head = (n: string) => `Chain ${n} (policy ACCEPT)\ntarget     prot opt source               destination\n`;
    const rs = parseListing([head("PREROUTING"), head("INPUT"), head("OUTPUT")].join("\n"), sink);
    // INPUT then OUTPUT with no FORWARD between: not mangle, whose listing has FORWARD there.
    expect(rs.tables.map((t) => t.name)).toEqual(["nat"]);
  });

  it("in one dump, a table given twice is replaced as iptables-restore does, and the warning names the first", () => {
    const r = parseRules("*filter\n-A INPUT -s 1.1.1.1 -j ACCEPT\nCOMMIT\n*filter\n-A INPUT -s 2.2.2.2 -j ACCEPT\nCOMMIT\n");
    expect(notInfo(r.diagnostics)).toEqual([
      "4:1: warning: table filter appears again (first on line 1); the later one replaces the earlier, as iptables-restore does (checked: both backends)",
    ]);
  });

  it.skipIf(!hasCorpus)(`keeps Docker's nat table when the raw table's -S follows it (moby usernet-portmap)${hasCorpus ? "" : `: ${sharedNotice("corpus")}`}`, () => {
    const file = "repo-doc/moby-iptablesdoc-usernet-portmap.mixed.txt";
    const a = assembleInputs({ rules: [{ file, text: corpus(file) }] });
    expect(a.rulesets).toHaveLength(1);
    const rs = a.rulesets[0]!;
    expect(rs.tables.map((t) => t.name).sort()).toEqual(["filter", "nat", "raw"]);
    expect(chain(rs, "raw", "PREROUTING").rules.load().map((r) => r.target)).toMatchObject([{ kind: "standard", verdict: "DROP" }]);
    expect(chain(rs, "nat", "DOCKER").rules.load().some((r) => r.target?.kind === "target" && r.target.name === "DNAT")).toBe(true);
    expect(a.diagnostics.filter((d) => /inferred as raw/.test(d.message)).map((d) => d.line)).toEqual([146, 157]);
    // The published port: DNAT to the container, as the document says.
    const node = simpleNode({ addrs: { eth0: ["203.0.113.5/24"], bridge1: ["192.0.2.1/24"] }, routes: [{ dst: "default", dev: "eth0", via: "203.0.113.1" }] });
    const ev = buildNode({ rulesets: a.rulesets, node }).evaluate({ family: "ipv4", from: "eth0", src: "198.51.100.7", dst: "203.0.113.5", proto: 6, sport: 4000, dport: 8080, tcpFlags: 2 });
    expect(ev.outcomes.map((o) => [o.final.dst, o.final.dport])).toEqual([["192.0.2.2", 80]]);
  });
});

describe("several dumps of one node", () => {
  const NAT_A = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.9:80\nCOMMIT\n";
  const NAT_B = "*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 443 -j RETURN\nCOMMIT\n";

  it("merge by table and chain: a table's chains from both, one table per name", () => {
    const a = assembleInputs({ rules: [{ file: "pre.save", text: NAT_A }, { file: "kube.save", text: NAT_B }] });
    expect(a.rulesets).toHaveLength(1);
    const rs = a.rulesets[0]!;
    expect(rs.tables.map((t) => t.name)).toEqual(["nat"]);
    expect(chain(rs, "nat", "PREROUTING").rules.load()).toHaveLength(1);
    expect(chain(rs, "nat", "KUBE-SERVICES").rules.load()).toHaveLength(1);
    expect(notInfo(a.diagnostics)).toEqual(["1:1: warning: table nat was also given at pre.save:1; the two are merged chain by chain"]);
    expect(a.diagnostics.find((d) => d.severity === "warning")!.file).toBe("kube.save");
    expect(findTable(rs, "nat")!.format).toBe("save");
  });

  it("say which is used when a chain is given twice with different rules or policies", () => {
    const other = NAT_A.replace(":PREROUTING ACCEPT", ":PREROUTING DROP").replace("--dport 8080", "--dport 9090");
    const a = assembleInputs({ rules: [{ file: "a.save", text: NAT_A }, { file: "b.save", text: other }] });
    expect(notInfo(a.diagnostics)).toEqual([
      "1:1: warning: table nat was also given at a.save:1; the two are merged chain by chain",
      "2:1: warning: chain PREROUTING of table nat was also given at a.save:2 with different rules (1 there, 1 here); the later one, here, is used",
      "2:1: warning: chain PREROUTING of table nat has policy DROP here and ACCEPT at a.save:2; the later one, DROP, is used",
    ]);
    const pre = chain(a.rulesets[0]!, "nat", "PREROUTING");
    expect(pre.policy).toBe("DROP");
    expect(saveText(a.rulesets[0]!)).toContain("--dport 9090");
  });

  it("say nothing more when a chain is given twice the same, and keep each table's format", () => {
    const listing = "Chain PREROUTING (policy ACCEPT)\ntarget     prot opt source               destination\nDNAT       tcp  --  0.0.0.0/0            0.0.0.0/0            tcp dpt:8080 to:10.0.0.9:80\n";
    const a = assembleInputs({ rules: [{ file: "a.save", text: NAT_A }, { file: "b.L", text: listing }], table: "nat" });
    expect(notInfo(a.diagnostics)).toEqual(["1:1: warning: table nat was also given at a.save:1; the two are merged chain by chain"]);
    const rs = a.rulesets[0]!;
    // A listing shows some chains; the save the whole table, whose format the table keeps.
    expect(rs.format).toBe("list");
    expect(findTable(rs, "nat")!.format).toBe("save");
  });
});

describe("ipsets among the rules", () => {
  const PASTE = [
    "Here are my sets:",
    "```",
    "$ ipset save",
    "create allow hash:ip family inet hashsize 1024 maxelem 65536",
    "add allow 10.0.0.7",
    "```",
    "and the rules:",
    "```",
    "$ iptables-save",
    "*filter",
    ":INPUT DROP [0:0]",
    ":FORWARD ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    "-A INPUT -m set --match-set allow src -j ACCEPT",
    "COMMIT",
    "```",
    "",
  ].join("\n");
  const node = simpleNode({ addrs: { eth0: ["192.168.0.11/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });
  const fate = (a: ReturnType<typeof assembleInputs>, src: string) =>
    buildNode({ rulesets: a.rulesets, node, ...(a.ipsets ? { ipsets: a.ipsets } : {}) })
      .evaluate({ family: "ipv4", from: "eth0", src, dst: "192.168.0.11", proto: 6, sport: 4000, dport: 22, tcpFlags: 2 })
      .outcomes.map((o) => o.fate.kind);

  it("are read from a --rules paste", () => {
    const a = assembleInputs({ rules: [{ file: "issue.md", text: PASTE }] });
    expect(a.ipsets).toBeDefined();
    expect(fate(a, "10.0.0.7")).toEqual(["delivered"]);
    expect(fate(a, "10.0.0.8")).toEqual(["dropped"]);
    expect(a.notes).toContain("ipsets read from the --rules input too: issue.md");
  });

  it("are read from an --ipsets file with prose around them, and its rules are not reported twice", () => {
    const rules = PASTE.slice(PASTE.indexOf("*filter")).replace(/```\n$/, "");
    const a = assembleInputs({ rules: [{ file: "r.save", text: rules }], ipsets: [{ file: "issue.md", text: PASTE }] });
    expect(notInfo(a.diagnostics)).toEqual([]);
    expect(fate(a, "10.0.0.7")).toEqual(["delivered"]);
  });

  it.skipIf(!hasCorpus)(needsShared("are read from an issue's ipset list pasted before its rules (k8s 54203)"), () => {
    const file = "issue/k8s-54203-ipset-and-counters.mixed.txt";
    const a = assembleInputs({ rules: [{ file, text: corpus(file) }], ipsets: [{ file, text: corpus(file) }] });
    expect(a.ipsets?.test("test", { src: "10.0.0.1", dst: "8.8.8.8", proto: 17, sport: 1000, dport: 53 } as never, ["dst", "dst"])).toBe(true);
    // The same file as both: its rules' warnings once, and the set not "given twice".
    expect(a.diagnostics.filter((d) => /declared implicitly/.test(d.message))).toHaveLength(1);
    expect(a.diagnostics.filter((d) => /was also given/.test(d.message))).toEqual([]);
  });
});

describe("what iptables-restore takes and refuses (its answers: test/kernel/restore-refusals.test.ts)", () => {
  const HDR = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
  const one = (rule: string) => {
    const r = parseRules(`${HDR}${rule}\nCOMMIT\n`, { file: "x" });
    return { rules: findChain(r.value.tables[0]!, "INPUT")!.rules.load(), diagnostics: notInfo(r.diagnostics) };
  };

  it("takes `-` as a built-in chain's policy, which the dump then does not say", () => {
    const r = parseRules("*filter\n:INPUT - [0:0]\nCOMMIT\n");
    expect(r.diagnostics).toEqual([]);
    const p = findChain(r.value.tables[0]!, "INPUT")!.policy;
    expect(isUnknown(p)).toBe(true);
    expect(p).toMatchObject({ reason: "`-` keeps the policy the chain had before the restore; the dump does not say it" });
    // Printed back as `-`, not as a guessed ACCEPT.
    expect(saveText(r.value)).toContain(":INPUT - [0:0]");
  });

  it("takes a comment over 255 bytes, cut to 255 as iptables stores it, with a warning", () => {
    const r = one(`-A INPUT -m comment --comment ${"a".repeat(300)} -j ACCEPT`);
    expect(r.diagnostics).toEqual(["5:21: warning: comment: longer than 255 bytes (300); iptables keeps only its first 255"]);
    expect(r.rules[0]!.matches[0]).toMatchObject({ data: { comment: "a".repeat(255) } });
  });

  it("refuses a jump or goto into a built-in chain", () => {
    expect(one("-A INPUT -j OUTPUT").diagnostics).toEqual(["5:13: error: -j OUTPUT: a rule cannot jump to built-in chain OUTPUT of table filter; iptables-restore refuses it"]);
    expect(one("-A INPUT -g OUTPUT").diagnostics).toEqual(["5:13: error: -g OUTPUT: a rule cannot go to built-in chain OUTPUT of table filter; iptables-restore refuses it"]);
  });

  it("refuses a jump to a chain not declared before it in a restore input, and keeps it a warning-free jump in -S of one chain", () => {
    const r = one("-A INPUT -j NOPE");
    expect(r.diagnostics).toEqual(["5:13: error: chain NOPE is not declared before this line in table filter: iptables-restore refuses it (only --noflush onto a kernel that has the chain would take it)"]);
    // The rule is kept: a packet reaching it ends in "jump to a chain that does not exist".
    expect(r.rules).toHaveLength(1);
    expect(notInfo(parseRules("-N KUBE-SERVICES\n-A KUBE-SERVICES -j KUBE-SVC-X\n", { table: "nat" }).diagnostics)).toEqual([]);
  });

  it("refuses a reversed port range for tcp, sctp and multiport, and takes it for udp", () => {
    expect(one("-A INPUT -p tcp --dport 80:20 -j ACCEPT").diagnostics).toEqual(["5:17: error: tcp: invalid portrange (min > max)"]);
    expect(one("-A INPUT -p tcp -m tcp --sport 80:20 -j ACCEPT").diagnostics).toEqual(["5:24: error: tcp: invalid portrange (min > max)"]);
    expect(one("-A INPUT -p sctp --dport 80:20 -j ACCEPT").diagnostics).toEqual(["5:18: error: sctp: invalid portrange (min > max)"]);
    expect(one("-A INPUT -p tcp -m multiport --dports 1,80:20 -j ACCEPT").diagnostics).toEqual(["5:30: error: multiport: invalid portrange (min > max)"]);
    const udp = one("-A INPUT -p udp --dport 80:20 -j ACCEPT");
    expect(udp.diagnostics).toEqual([]);
    expect(udp.rules[0]!.matches[0]).toMatchObject({ name: "udp", data: { dport: { lo: 80, hi: 20 } } });
  });

  it("ends a word at its closing quote, as the restore tokenizer does", () => {
    expect(one('-A INPUT -m comment --comment a"b"c -j ACCEPT').diagnostics).toEqual(["5:35: error: unexpected argument"]);
    expect(one('-A INPUT -m comment --comment "a b"c -j ACCEPT').diagnostics).toEqual(["5:36: error: unexpected argument"]);
    // Through the grammar too (a non-ASCII line is not the fast scanner's).
    expect(one('-A INPUT -m comment --comment é"b"c -j ACCEPT').diagnostics).toEqual(["5:35: error: unexpected argument"]);
    const open = one('-A INPUT -m comment --comment a"b c" -j ACCEPT');
    expect(open.diagnostics).toEqual([]);
    expect(open.rules[0]!.matches[0]).toMatchObject({ data: { comment: "ab c" } });
    expect(one("-A INPUT -m comment --comment kubernetes health check -j ACCEPT").diagnostics).toEqual([
      "5:42: error: unexpected argument",
      "5:49: error: unexpected argument",
    ]);
  });

  it("refuses -j DROP in nat, and -P DROP there in a restore input, but takes :PREROUTING DROP", () => {
    const nat = (body: string) => notInfo(parseRules(`*nat\n${body}\nCOMMIT\n`).diagnostics);
    expect(nat("-A PREROUTING -j DROP")).toEqual(["2:15: error: -j DROP is refused in the nat table (it is not intended for filtering)"]);
    expect(nat("-P PREROUTING DROP")).toEqual(["2:1: error: -P PREROUTING DROP is refused in the nat table (it is not intended for filtering)"]);
    expect(nat(":PREROUTING DROP [0:0]")).toEqual([]);
    // -S shows what the kernel has, and a kernel can have it.
    expect(notInfo(parseRules("-P PREROUTING DROP\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n", { table: "nat" }).diagnostics)).toEqual([]);
  });
});

describe("a byte order mark before the first line", () => {
  const BOM = "\uFEFF";
  const kinds: Record<string, string> = {
    save: "*filter\n:INPUT DROP [0:0]\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\nCOMMIT\n",
    S: "-P INPUT DROP\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\n",
    list: "Chain INPUT (policy DROP)\ntarget     prot opt source               destination\nACCEPT     all  --  10.0.0.1             0.0.0.0/0\n",
    mixed: "*filter\n:INPUT DROP [0:0]\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\nCOMMIT\n\nThat is the dump.\n",
  };
  for (const [kind, text] of Object.entries(kinds)) {
    it(`is skipped in ${kind} input`, () => {
      const r = readInput(BOM + text, { file: "f" });
      expect(notInfo(r.diagnostics)).toEqual([]);
      const rs = rulesetsOf(r.input);
      expect(rs).toHaveLength(1);
      const input = findChain(rs[0]!.tables[0]!, "INPUT")!;
      expect(input.policy).toBe("DROP");
      expect(input.rules.load()).toHaveLength(1);
    });
  }
});

describe("a text of blank lines", () => {
  it("is an empty input, read without a structure per line", () => {
    // 20 million: more line numbers than a Set holds ("Set maximum size exceeded", exit 70).
    const r = readInput("\n".repeat(20_000_000), { file: "blank.txt" });
    expect(r.diagnostics.map((d) => `${d.line}:${d.col}: ${d.severity}: ${d.message}`)).toEqual(["1:1: error: the input is empty"]);
  });
});

describe("blank lines around and inside a dump in prose", () => {
  it("are not kept one by one, and every line is still where it is", () => {
    const text = `Here it is:\n${"\n".repeat(1000)}*filter\n:INPUT ACCEPT [0:0]\n\n\n\n\n-A INPUT -p tcp --dport 80:20 -j ACCEPT\nCOMMIT\n${"\n".repeat(500)}That was it.\n`;
    const r = readInput(text, { file: "f" });
    expect(r.diagnostics.map((d) => `${d.line}:${d.col}: ${d.severity}: ${d.message}`)).toEqual([
      "1:1: info: skipped 2 lines that belong to no dump (prose, shell prompts, fences, logs): 1, 1510",
      "1008:17: error: tcp: invalid portrange (min > max)",
    ]);
    // 20 million blank lines between two lines of prose: read, not a crash (a Set of their
    // numbers was exit 70; one entry each, a heap out of memory a few million lines later).
    const big = readInput(`prose\n${"\n".repeat(20_000_000)}more prose\n`, { file: "g" });
    expect(big.diagnostics.map((d) => d.message)).toContain("skipped 2 lines that belong to no dump (prose, shell prompts, fences, logs): no dump found; 1-20000002");
  });
});

describe.skipIf(!hasCorpus)(needsShared("host names in a listing without -n"), () => {
  it("are kept as names (netnet tails 1.4.1)", () => {
    const file = "repo-fixture/netnet-tails-1.4.1.L.txt";
    const rs = rulesetsOf(readInput(corpus(file), { file }).input)[0]!;
    const out = chain(rs, "filter", "OUTPUT");
    expect(out.rules.load().filter((r) => r.destination && "hostname" in r.destination && r.destination.hostname === "localhost").length).toBeGreaterThan(0);
  });
});
