/**
 * `iptables -L -v` without `-n`: an absent interface is printed `any` (with `-n`, `*`), and
 * names stand for numbers (ports, users). Checked against the tool's own output in
 * test/fixtures/listing/ (see its README), and against a user name only the dump's host knows.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { listText } from "../../src/print/listing.js";
import { parseListing } from "../../src/syntax/listing.js";
import { ruleSpecText } from "../../src/print/save.js";
import { DiagnosticSink, formatDiagnostic } from "../../src/model/diagnostics.js";
import { buildNode } from "../../src/netfilter/model.js";
import { simpleNode } from "../support/simple-node.js";
import { hasShared, readShared, sharedNotice } from "../support/shared.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/listing/${name}`, import.meta.url), "utf8");
const save = fixture("verbose-names.save");
const listing = fixture("verbose-names.L.txt");

describe("iptables -L -v (names, no -n)", () => {
  it("prints what iptables printed", () => {
    expect(listText(parseRules(save).value, { verbose: true })).toBe(listing);
  });

  it("reads back the same rules: `any` is no interface, `!eth0` and `!cni0` are negated ones", () => {
    const sink = new DiagnosticSink("verbose-names.L.txt");
    const back = parseListing(listing, sink, { table: "filter" });
    expect(sink.items.filter((d) => d.severity !== "info").map(formatDiagnostic)).toEqual([]);
    const want = parseRules(save).value.tables[0]!;
    for (const c of want.chains) {
      const got = back.tables[0]!.chains.find((x) => x.name === c.name)!;
      expect(got.rules.load().map((r) => ruleSpecText({ ...r, counters: undefined }, "ipv4"))).toEqual(c.rules.load().map((r) => ruleSpecText(r, "ipv4")));
    }
  });

  it("keeps a port named by a service netfate does not know as unread text, never drops it", () => {
    const sink = new DiagnosticSink("x.L.txt");
    const text = ["Chain INPUT (policy ACCEPT 0 packets, 0 bytes)", " pkts bytes target     prot opt in     out     source               destination         ",
      "    0     0 ACCEPT     tcp  --  any    any     anywhere             anywhere             tcp dpt:no-such-service", ""].join("\n");
    const rule = parseListing(text, sink, { table: "filter" }).tables[0]!.chains[0]!.rules.load()[0]!;
    expect(sink.items.map(formatDiagnostic).join("\n")).toContain('not understood: "dpt:no-such-service"');
    expect(rule.matches.map((m) => m.kind)).toEqual(["match", "unparsed"]);
  });
});

describe("owner names netfate cannot resolve", () => {
  // From ../shared/corpus/repo-fixture/netnet-tails-1.4.1.L.txt: i2psvc is a user of that host.
  const row = [
    "Chain lan (1 references)",
    " pkts bytes target     prot opt in     out     source               destination         ",
    "    0     0 REJECT     all  --  any    any     anywhere             anywhere             owner UID match i2psvc reject-with icmp-port-unreachable",
    "",
  ].join("\n");

  it("are kept as written, in the listing and in save text, never guessed into an id", () => {
    const sink = new DiagnosticSink("tails.L.txt");
    const rs = parseListing(row, sink, { table: "filter" });
    expect(sink.items.filter((d) => d.severity !== "info").map(formatDiagnostic)).toEqual([]);
    const rule = rs.tables[0]!.chains.find((c) => c.name === "lan")!.rules.load()[0]!;
    expect(ruleSpecText({ ...rule, counters: undefined }, "ipv4")).toBe(" -m owner --uid-owner i2psvc -j REJECT --reject-with icmp-port-unreachable");
    expect(listText(rs, { verbose: true })).toContain("owner UID match i2psvc reject-with icmp-port-unreachable");
  });

  it("leave a local packet's fate open, saying on what it rests", () => {
    const rs = parseRules("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -m owner --uid-owner i2psvc -j DROP\nCOMMIT\n");
    expect(rs.diagnostics.map(formatDiagnostic)).toEqual([
      "<input>:5:20: warning: owner: user i2psvc is resolved by the node that loads the rules; netfate keeps the name and cannot tell its id",
    ]);
    const node = simpleNode({ addrs: { eth0: ["192.168.0.11/24"] }, routes: [{ dst: "0.0.0.0/0", dev: "eth0", via: "192.168.0.1" }] });
    const out = buildNode({ rulesets: [rs.value], node }).evaluate({ family: "ipv4", from: "local", src: "192.168.0.11", dst: "192.168.0.50", proto: 6, sport: 40000, dport: 80, tcpFlags: 2 }).outcomes;
    expect(out.map((o) => o.fate.kind).sort()).toEqual(["dropped", "sent"]);
    expect(out.find((o) => o.fate.kind === "dropped")!.assumptions.join(" ")).toContain("--uid-owner i2psvc");
  });
});

describe.skipIf(!hasShared)("iptables 1.4 listings (Tails 1.4.1, from ../shared/corpus)", () => {
  if (!hasShared) it.skip(sharedNotice("the Tails listing test"), () => {});
  it("read back as the rules of the same host's save, but for the names only that host could resolve", () => {
    // 1.4.x glued tcp's `flags:` to the field before it: `tcp dpt:9050flags: FIN,SYN,RST,ACK/SYN`.
    const sink = new DiagnosticSink("netnet-tails-1.4.1.L.txt");
    const listed = parseListing(readShared("corpus/repo-fixture", "netnet-tails-1.4.1.L.txt"), sink, { table: "filter" }).tables[0]!;
    expect(sink.items.filter((d) => d.severity !== "info").map(formatDiagnostic)).toEqual([]);
    const saved = parseRules(readShared("corpus/repo-fixture", "netnet-tails-1.4.1.save.txt")).value.tables.find((t) => t.name === "filter")!;
    const users: Record<string, string> = { amnesia: "1000", htp: "116", "tails-iuk-get-target-file": "118", "tails-upgrade-frontend": "119", "tor-launcher": "121", clearnet: "[0-9]+", "debian-tor": "[0-9]+", i2psvc: "[0-9]+" };
    let compared = 0;
    for (const c of saved.chains) {
      const got = listed.chains.find((x) => x.name === c.name)!;
      c.rules.load().forEach((r, k) => {
        let text = ruleSpecText({ ...got.rules.load()[k]!, counters: undefined }, "ipv4").replace(" -d localhost ", " -d 127.0.0.1/32 ");
        const name = / --uid-owner ([a-z][a-z0-9-]*) /.exec(text)?.[1];
        const want = ruleSpecText(r, "ipv4");
        if (name) expect(want, `${c.name} ${k + 1}`).toMatch(new RegExp(`^${escape(text.replace(` --uid-owner ${name} `, " --uid-owner @@ ")).replace("@@", users[name] ?? "@@")}$`));
        else expect(text, `${c.name} ${k + 1}`).toBe(want);
        compared++;
      });
    }
    expect(compared).toBeGreaterThan(30);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
