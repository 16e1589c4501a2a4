/**
 * No input crashes or hangs any reader — listings, ipset save/list, node facts, packets,
 * mixed texts — and every diagnostic points inside its input. The seeds are real outputs
 * (../shared/reference and the node fixtures), truncated, glued and sprinkled with bytes.
 */
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readInput } from "../../src/inputs.js";
import { parseIpsets } from "../../src/ipset/parse.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import { parsePacketText } from "../../src/packet/parse.js";
import type { Diagnostic } from "../../src/model/diagnostics.js";
import { hasShared, listShared, readShared, sections } from "../support/shared.js";

function located(text: string, diagnostics: readonly Diagnostic[]): void {
  const lines = text.split("\n").length;
  for (const d of diagnostics) {
    expect(d.line, d.message).toBeGreaterThanOrEqual(1);
    expect(d.line, d.message).toBeLessThanOrEqual(lines);
    expect(d.col, d.message).toBeGreaterThanOrEqual(1);
  }
}

const listings: string[] = [];
const ipsets: string[] = [];
if (hasShared) {
  for (const f of listShared("reference/iptables", ".txt")) {
    const s = sections(readShared("reference/iptables", f));
    for (const k of ["L", "nL", "nvL", "nvxL --line-numbers"]) if (s.get(k)) listings.push(s.get(k)!);
  }
  for (const f of listShared("reference/ipset", ".txt")) {
    const s = sections(readShared("reference/ipset", f));
    for (const [k, v] of s) if (k !== "restore" && k !== "meta") ipsets.push(v);
  }
}
if (listings.length === 0) listings.push("Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination\nACCEPT     tcp  --  anywhere             anywhere             tcp dpt:22\n");
if (ipsets.length === 0) ipsets.push("create s hash:ip family inet hashsize 1024 maxelem 65536\nadd s 10.0.0.1\n");
const fixtures = resolve(import.meta.dirname, "../fixtures/node");
const facts = readdirSync(fixtures).filter((f) => !f.endsWith(".md")).map((f) => readFileSync(resolve(fixtures, f), "utf8"));
// Inputs users sent that were accepted, guessed at or crashed on: each a seed to damage further.
facts.push(
  '{"interfaces": [{"name": "eth0", "addrs": ["999.1.1.1/24"]}], "sysctl": {"net.ipv4.ip_forward": "banana"}}',
  '{"interfaces": null, "routes": ["10.0.0.0/8 dev eth0"]}',
  '{"interfaces": {"eth0": 1}}',
  '{"interfaces": [{"name": "eth0", "addrs": "1.2.3.4/24", "kind": "vxlan", "vxlan": {"port": 8472, "peers": {"10.244.1.0": "192.168.0.12"}}}]}',
  '[{"ifname":"eth0","addr_info":[{"family":"inet","local":"999.1.1.1","prefixlen":99}]}]',
  "net.ipv4.ip_forward = banana\nnet.netfilter.nf_conntrack_tcp_loose = 1\n",
  "Kernel IP routing table\nDestination     Gateway         Genmask         Flags Metric Ref    Use Iface\n0.0.0.0         192.168.0.1     0.0.0.0         UG    100    0        0 eth0\n",
);
const packets = [
  "tcp 10.0.0.1:5 -> 10.0.0.2:80 in eth0 flags SYN,ACK mark 0x10 len 60 ttl 64",
  "icmp 10.0.0.1 -> 10.0.0.2 in eth0 type 3/3",
  '{"from":"eth0","src":"10.0.0.1","dst":"10.0.0.2","proto":"tcp","sport":5,"dport":80,"tcp_flags":"S.","mac":"00:11:22:33:44:55"}',
  "SYN-FLOOD: IN=eth0 OUT= MAC=52:54:00:8e:1a:11:00:1a:a9:15:ff:4d:08:00 SRC=10.0.0.1 DST=10.0.0.2 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=5 DPT=80 WINDOW=512 RES=0x00 ACK URGP=0",
  "IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=80 TOS=0x00 PREC=0xC0 TTL=64 ID=1 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.0.0.2 DST=10.0.0.1 LEN=52 PROTO=UDP SPT=53 DPT=5 LEN=32 ]",
  "PACKET: 2 86adf54e OUT=vr SRC=10.98.0.1 DST=10.98.0.2 LEN=60 TOS=0x0 TTL=64 ID=2877 DF SPORT=40000 DPORT=80 SYN MARK=0x7",
];

/** A real text cut short, two of its lines glued, or a few bytes overwritten. */
const damaged = (seeds: string[]) =>
  fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat(), fc.string({ unit: "binary", maxLength: 8 }), fc.constantFrom("cut", "glue", "bytes"))
    .map(([text, a, b, junk, how]) => {
      if (how === "cut") return text.slice(0, a % (text.length + 1));
      if (how === "bytes") {
        const at = a % (text.length + 1);
        return text.slice(0, at) + junk + text.slice(at + junk.length);
      }
      const lines = text.split("\n");
      const k = b % Math.max(1, lines.length - 1);
      return [...lines.slice(0, k), lines[k]! + " " + (lines[k + 1] ?? ""), ...lines.slice(k + 2)].join("\n");
    });

describe("readers fuzz", () => {
  it("listings (through format detection, as the CLI reads them)", () => {
    fc.assert(fc.property(damaged(listings), (t) => located(t, readInput(t, { file: "fuzz" }).diagnostics)), { numRuns: 400 });
  });
  it("ipset save and list", () => {
    fc.assert(fc.property(damaged(ipsets), (t) => located(t, parseIpsets(t, { file: "fuzz" }).diagnostics)), { numRuns: 400 });
  });
  it("node facts: ip -j addr/route, ip addr, ip route, route -n, node.json", () => {
    fc.assert(fc.property(damaged(facts), (t) => located(t, factsFromTexts([{ text: t, file: "fuzz" }]).diagnostics)), { numRuns: 400 });
  });
  it("mixed texts: a dump inside prose, a prompt, a code fence", () => {
    const wrap = fc.tuple(damaged([...listings.slice(0, 5), ...ipsets.slice(0, 5)]), fc.constantFrom("```\n", "$ sudo iptables -L\n", "Here is my output:\n\n", "> "))
      .map(([t, w]) => (w === "> " ? t.split("\n").map((l) => w + l).join("\n") : w + t + (w === "```\n" ? "\n```\n" : "")));
    fc.assert(fc.property(wrap, (t) => located(t, readInput(t, { file: "fuzz" }).diagnostics)), { numRuns: 300 });
  });
  it("packets: text, JSON, LOG and PACKET lines, damaged: never a throw, every error at a column inside the text", () => {
    fc.assert(fc.property(damaged(packets), (t) => {
      const p = parsePacketText(t);
      if (!p.ok) {
        expect(p.error.length).toBeGreaterThan(0);
        expect(p.col, `${t}: ${p.error}`).toBeGreaterThanOrEqual(1);
        expect(p.col, `${t}: ${p.error}`).toBeLessThanOrEqual(t.length + 1);
      }
    }), { numRuns: 600 });
  });
  it("random bytes through every reader", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), (t) => {
      located(t, readInput(t, { file: "fuzz" }).diagnostics);
      located(t, parseIpsets(t, { file: "fuzz" }).diagnostics);
      located(t, factsFromTexts([{ text: t, file: "fuzz" }]).diagnostics);
      const p = parsePacketText(t);
      if (!p.ok) expect(p.error.length).toBeGreaterThan(0);
    }), { numRuns: 400 });
  });
});
