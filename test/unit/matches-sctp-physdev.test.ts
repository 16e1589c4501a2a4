/**
 * sctp and physdev: option errors located as iptables reports them, both printings, reading
 * `-L`/`-nL` back, and the kernel's answer for each case (definite when the inputs tell it).
 */
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { listText } from "../../src/print/listing.js";
import { ruleSpecText } from "../../src/print/save.js";
import { parseListing } from "../../src/syntax/listing.js";
import { DiagnosticSink, formatDiagnostic } from "../../src/model/diagnostics.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { NodeView } from "../../src/model/evaluation.js";
import { simpleNode } from "../support/simple-node.js";
import { ruleDrops } from "../support/rule-verdict.js";

const plain = simpleNode({ addrs: { eth0: ["192.168.0.11/24"], br0: ["10.10.0.1/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });
const withSysctl = (v: string): NodeView => ({ ...plain, sysctl: (k) => (k === "net.bridge.bridge-nf-call-iptables" ? v : undefined) });

const sctpPacket: PacketSpec = { family: "ipv4", from: "eth0", src: "10.2.3.4", dst: "192.168.0.11", proto: 132, sport: 40000, dport: 3868, mark: 0 };
const localPacket: Partial<PacketSpec> = { from: "local", src: "192.168.0.11", dst: "8.8.8.8", proto: 6, sport: 40000, dport: 80, tcpFlags: 2 };

interface Where {
  chain?: "INPUT" | "OUTPUT";
  node?: NodeView;
}

/** Whether the single rule `spec -j DROP` in `chain` drops the packet (policy ACCEPT otherwise). */
function drops(spec: string, p: Partial<PacketSpec> = {}, w: Where = {}): boolean | "indeterminate" {
  return ruleDrops({ spec, packet: { ...sctpPacket, ...p }, node: w.node ?? plain, chain: w.chain ?? "INPUT" });
}

const noBridge: Where = { node: withSysctl("0") };
const bridging: Where = { node: withSysctl("1") };
const output: Where = { chain: "OUTPUT" };

const CASES: Record<string, Array<[string, Partial<PacketSpec>, boolean | "indeterminate", Where?]>> = {
  "sctp ports": [
    ["-p sctp --dport 3868", {}, true], ["-p sctp --dport 3869", {}, false], ["-p sctp ! --dport 3868", {}, false],
    ["-p sctp --sport 1024:65535", {}, true], ["-p sctp --sport :1023", {}, false], ["-p sctp -m sctp --destination-port 3000:", {}, true],
    // Another protocol, or a fragment, never matches.
    ["-p sctp --dport 3868", { fragment: true }, false], ["-m sctp --dport 3868", { proto: 6, tcpFlags: 2 }, false],
    ["-p sctp --dport 3868", { dport: undefined }, "indeterminate"],
  ],
  "sctp chunks": [
    ["-p sctp --chunk-types any INIT", {}, "indeterminate"], ["-p sctp --dport 1 --chunk-types any INIT", {}, false],
    // Answers that hold whatever chunks the packet carries (it carries at least one).
    ["-p sctp --chunk-types any NONE", {}, false], ["-p sctp ! --chunk-types any NONE", {}, true],
    ["-p sctp --chunk-types all NONE", {}, true], ["-p sctp --chunk-types only NONE", {}, false],
    ["-p sctp --chunk-types any ALL", {}, true], ["-p sctp --chunk-types only ALL", {}, true],
    ["-p sctp --chunk-types all ALL", {}, "indeterminate"],
  ],
  physdev: [
    // A locally generated packet never carries bridge ports: each option fails unless inverted.
    ["-m physdev --physdev-is-out", localPacket, false, output], ["-m physdev ! --physdev-is-out", localPacket, true, output],
    ["-m physdev ! --physdev-out veth+ ! --physdev-is-bridged", localPacket, true, output],
    ["-m physdev ! --physdev-out veth+ --physdev-is-bridged", localPacket, false, output],
    // Bridges not handing packets to iptables: the same.
    ["-m physdev --physdev-in eth0", {}, false, noBridge], ["-m physdev ! --physdev-in eth0", {}, true, noBridge],
    ["-m physdev --physdev-is-bridged", { from: "br0" }, false, noBridge], ["-m physdev ! --physdev-is-in", { from: "br0" }, true, noBridge],
    // Otherwise which bridge port the packet crossed is not known.
    ["-m physdev --physdev-in eth0", {}, "indeterminate"], ["-m physdev ! --physdev-is-bridged", { from: "br0" }, "indeterminate", bridging],
  ],
};

describe("sctp and physdev semantics", () => {
  for (const [ext, cases] of Object.entries(CASES)) {
    it(ext, () => {
      for (const [spec, p, want, w] of cases) expect(drops(spec, p, w), `${spec} ${JSON.stringify(p)}`).toBe(want);
    });
  }
});

function ruleset(lines: string[]): string {
  return `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${lines.map((l) => `-A FORWARD ${l} -j ACCEPT\n`).join("")}COMMIT\n`;
}

/** The first error of a rule, with the column it points at. */
function firstError(rule: string): { message: string; col: number } | undefined {
  const line = `-A FORWARD ${rule} -j ACCEPT`;
  const e = parseRules(`*filter\n:FORWARD ACCEPT [0:0]\n${line}\nCOMMIT\n`).diagnostics.find((d) => d.severity === "error");
  return e && { message: e.message, col: e.col };
}

describe("option errors", () => {
  const ERRORS: Array<[string, RegExp, string]> = [
    ["-p sctp --sport 200:100", /invalid portrange \(min > max\)/, "--sport"],
    ["-p sctp --dport nosuchservice", /bad port/, "--dport"],
    ["-p sctp --chunk-types some INIT", /Match type has to be one of "ALL", "ANY" or "ONLY"/, "--chunk-types"],
    ["-p sctp --chunk-types any INIT,FOO", /Unknown sctp chunk `FOO'/, "--chunk-types"],
    ["-p sctp --chunk-types any INIT,ALL", /Unknown sctp chunk `ALL'/, "--chunk-types"],
    ["-p sctp --chunk-types any DATA:X", /Invalid flags for chunk type 0/, "--chunk-types"],
    ["-p sctp --chunk-types any DATA:I,ABORT:T,SHUTDOWN_COMPLETE:t,INIT:-,COOKIE_ACK:-", /exceeds the limit of 4/, "--chunk-types"],
    ["-p sctp --dport 1 --dport 2", /--dport given more than once/, "--dport 2"],
    ["-m physdev", /PHYSDEV: no physdev option specified/, "-m physdev"],
    ["-m physdev --physdev-in abcdefghijklmnop", /must be shorter than IFNAMSIZ/, "--physdev-in"],
  ];
  for (const [rule, message, at] of ERRORS) {
    it(rule, () => {
      const e = firstError(rule);
      expect(e?.message).toMatch(message);
      expect(e?.col, "points at the option").toBe("-A FORWARD ".length + rule.indexOf(at) + 1);
    });
  }
});

describe("printing and reading back", () => {
  const RULES: Array<[rule: string, save: string, L: string, nL: string]> = [
    ["-p sctp --dport 3868", "-p sctp -m sctp --dport 3868", "sctp dpt:3868", "sctp dpt:3868"],
    ["-p sctp -m sctp --sport 100:200 --chunk-types any INIT", "-p sctp -m sctp --sport 100:200 --chunk-types any INIT", "sctp spts:100:200 any INIT", "sctp spts:100:200 any 0x0001"],
    ["-p sctp ! --sport 5 ! --dport 1:2", "-p sctp -m sctp ! --sport 5 ! --dport 1:2", "sctp spt:!5 dpts:!1:2", "sctp spt:!5 dpts:!1:2"],
    // Types print in number order with their flags (upper case set, lower case clear).
    [
      "-p sctp ! --chunk-types only abort:T,data:IuBe,Init_Ack,I_DATA",
      "-p sctp -m sctp ! --chunk-types only DATA:IuBe,INIT_ACK,ABORT:T,I_DATA",
      "sctp ! only DATA:IuBe,INIT_ACK,ABORT:T,I_DATA",
      "sctp ! only 0x0000:IuBe,0x0002,0x0006:T,0x0040",
    ],
    ["-p sctp --chunk-types all none", "-p sctp -m sctp --chunk-types all NONE", "sctp all NONE", "sctp all NONE"],
    ["-p sctp --chunk-types ONLY all", "-p sctp -m sctp --chunk-types only ALL", "sctp only ALL", "sctp only ALL"],
    ["-m physdev --physdev-is-bridged --physdev-out veth+", "-m physdev --physdev-out veth+ --physdev-is-bridged", "PHYSDEV match --physdev-out veth+ --physdev-is-bridged", "PHYSDEV match --physdev-out veth+ --physdev-is-bridged"],
    [
      "-m physdev ! --physdev-is-bridged ! --physdev-out o1 --physdev-is-out ! --physdev-in i+ --physdev-is-in",
      "-m physdev --physdev-is-in ! --physdev-in i+ --physdev-is-out ! --physdev-out o1 ! --physdev-is-bridged",
      "PHYSDEV match --physdev-is-in ! --physdev-in i+ --physdev-is-out ! --physdev-out o1 ! --physdev-is-bridged",
      "PHYSDEV match --physdev-is-in ! --physdev-in i+ --physdev-is-out ! --physdev-out o1 ! --physdev-is-bridged",
    ],
  ];
  const rs = parseRules(ruleset(RULES.map(([r]) => r)));
  const rules = rs.value.tables[0]!.chains.find((c) => c.name === "FORWARD")!.rules.load();

  it("binds without errors", () => expect(rs.diagnostics.filter((d) => d.severity === "error")).toEqual([]));
  it("saves as iptables-save", () => expect(rules.map((r) => ruleSpecText(r, "ipv4").trim())).toEqual(RULES.map(([, s]) => `${s} -j ACCEPT`)));

  for (const [i, numeric] of [[2, false], [3, true]] as const) {
    const text = listText(rs.value, { numeric });
    const rows = text.split("\n").filter((l) => l.startsWith("ACCEPT"));
    it(`prints ${numeric ? "-nL" : "-L"}`, () => expect(rows.map((l) => l.slice(61).trim())).toEqual(RULES.map((r) => r[i])));
    it(`reads ${numeric ? "-nL" : "-L"} back`, () => {
      const sink = new DiagnosticSink("x");
      const back = parseListing(text, sink, { family: "ipv4", table: "filter" });
      expect(sink.items.filter((d) => d.severity !== "info").map(formatDiagnostic)).toEqual([]);
      const got = back.tables[0]!.chains.find((c) => c.name === "FORWARD")!.rules.load();
      expect(got.map((r) => ruleSpecText(r, "ipv4").trim())).toEqual(RULES.map(([, s]) => `${s} -j ACCEPT`));
    });
  }
});
