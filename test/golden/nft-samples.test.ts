/**
 * The nftables sample nodes (006 kube-proxy's nftables mode, 007 firewalld, 008 Docker's
 * nftables backend, 009 iptables-nft beside a native host firewall): every packet of each
 * sample's packets.json, whose expectations the kernel pinned (test/kernel/nft-samples-load.test.ts),
 * traced by netfate from the `nft list ruleset` text and again from `nft -j list ruleset` JSON:
 * the same fates, paths, rewrites and marks from both.
 */
import { describe, expect, it } from "vitest";
import { readFileSync, existsSync } from "node:fs";
import { resolve } from "node:path";
import { assembleInputs, nodeInputsOf } from "../../src/assemble.js";
import { buildNode, type NetfilterNode } from "../../src/netfilter/model.js";
import { parsePacketText } from "../../src/packet/parse.js";
import type { Outcome } from "../../src/model/evaluation.js";
import { whyDroppedText } from "../../src/explain/text.js";
import { PLAIN } from "../../src/explain/colour.js";

const SAMPLES = ["006-kube-proxy-nftables", "007-firewalld", "008-docker-nftables", "009-iptables-nft-mixed"];

interface Expected {
  outcomes: number;
  fate: string;
  /** One for every outcome, or one per DNAT destination (`"10.244.1.12:80": "cni0"`). */
  iface?: string | Record<string, string>;
  mark?: string;
  snat?: string | Record<string, string>;
  dnat?: string[];
  reject?: string;
  path: string[];
}

interface SamplePacket {
  name: string;
  packet: string;
  /** A packet sent before this one (the connection it answers). */
  after?: string;
  expected: Expected;
}

function load(dir: string, rules: "ruleset.nft" | "ruleset.json"): NetfilterNode {
  const read = (f: string) => ({ file: f, text: readFileSync(resolve(dir, f), "utf8") });
  // 009: the iptables half comes from its iptables-save dump, as on the node; nft lists it too.
  const files = [read(rules), ...(existsSync(resolve(dir, "iptables.save")) ? [read("iptables.save")] : [])];
  const a = assembleInputs({ rules: files, node: [read("node.json")] });
  expect(a.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return buildNode(nodeInputsOf(a));
}

/**
 * The chains a packet went through, as the kernel's trace names them (family, table, chain):
 * every chain a step is in, and every chain jumped to, which the trace lists even when none of
 * its rules matched and it returned.
 */
function path(o: Outcome, anyEndpoint: boolean): string[] {
  const out: string[] = [];
  const visit = (name: string) => {
    // kube-proxy's endpoint chains, where the sample lets numgen pick any of them.
    const shown = anyEndpoint ? name.replace(/ endpoint-\S+$/, " endpoint-*") : name;
    if (out[out.length - 1] !== shown) out.push(shown);
  };
  for (const s of o.steps) {
    const table = s.nft ? `${s.nft.family} ${s.nft.table}` : `ip ${s.table}`;
    visit(`${table} ${s.chain}`);
    const called = /^(?:JUMP|GOTO) (.+)$/.exec(s.verdict);
    if (called) visit(`${table} ${called[1]}`);
  }
  return out;
}

/** The mark as the packet leaves the input, forward or output stage (before POSTROUTING), as the kernel test reads it. */
function markBeforePostrouting(o: Outcome, given: number | undefined): string {
  let mark = `0x${(given ?? 0).toString(16)}`;
  for (const s of o.steps) {
    if (s.hook === "POSTROUTING") break;
    if (s.packet) mark = s.packet.mark;
  }
  return mark;
}

/** iptables words a reject `icmp-host-prohibited`; nft and the kernel's trace `icmp host-prohibited`. */
function rejectWords(w: string): string {
  return w.replace(/^(icmp|icmpv6|icmpx)-/, "$1 ");
}

function iface(o: Outcome): string | undefined {
  const f = o.fate;
  return f.kind === "forwarded" || f.kind === "sent" || f.kind === "delivered" ? f.iface : undefined;
}

for (const sample of SAMPLES) {
  const dir = resolve(import.meta.dirname, "../../samples", sample);
  const packets = JSON.parse(readFileSync(resolve(dir, "packets.json"), "utf8")) as SamplePacket[];
  for (const rules of ["ruleset.nft", "ruleset.json"] as const) {
    describe(`${sample} from ${rules}`, () => {
      const node = load(dir, rules);
      for (const c of packets) {
        it(c.name, () => {
          const pk = parsePacketText(c.packet);
          if (!pk.ok) throw new Error(pk.error);
          const { outcomes } = node.evaluate(pk.packet);
          const e = c.expected;
          expect(outcomes.map((o) => o.fate.kind)).toEqual(Array(e.outcomes).fill(e.fate));
          const total = outcomes.reduce((s, o) => s + o.probability, 0);
          expect(total).toBeCloseTo(1, 12);
          for (const o of outcomes) {
            expect(path(o, e.path.some((p) => p.endsWith(" endpoint-*")))).toEqual(e.path);
            const to = `${o.final.dst}:${o.final.dport}`;
            const per = (x: string | Record<string, string>) => (typeof x === "string" ? x : x[to]);
            if (e.iface !== undefined) expect(iface(o)).toBe(per(e.iface));
            if (e.mark !== undefined) expect(markBeforePostrouting(o, pk.packet.mark)).toBe(e.mark);
            if (e.snat !== undefined) expect(o.final.src).toBe(per(e.snat));
            if (e.reject !== undefined) expect(o.fate.kind === "rejected" ? rejectWords(o.fate.with) : o.fate.kind).toBe(e.reject);
          }
          if (e.dnat !== undefined) expect(outcomes.map((o) => `${o.final.dst}:${o.final.dport}`).sort()).toEqual([...e.dnat].sort());
        });
      }
    });
  }
}

describe("007-firewalld: what nearly let a rejected packet through", () => {
  const node = load(resolve(import.meta.dirname, "../../samples/007-firewalld"), "ruleset.nft");
  const nearly = (packet: string) => {
    const pk = parsePacketText(packet);
    if (!pk.ok) throw new Error(pk.error);
    const text = whyDroppedText(node.evaluate(pk.packet, { verbose: true }), { palette: PLAIN });
    return text.slice(text.indexOf("  nearly let through by:"));
  };

  // The rich reject in filter_IN_public_deny comes after zone public's policy chain allow-host-ipv6,
  // whose eight `icmpv6 type ... accept` rules an IPv4 packet never matches: they are not listed.
  it("the rich rule's reject of 192.168.122.66 lists rules an IPv4 packet can match", () => {
    expect(nearly("tcp 192.168.122.66:50005 -> 192.168.122.10:22 in eth0")).toBe(`  nearly let through by:
    ct state { established, related } accept
      failed: ct state { established, related }
    ct status dnat accept
      failed: ct status dnat
    iifname "lo" accept
      failed: iifname "lo"
    iifname "eth1" jump filter_IN_trusted_to_HOST
      failed: iifname "eth1"
`);
  });

  it("MySQL rejected on eth0: the dhcpv6-client service's ip6 rule is not listed", () => {
    expect(nearly("tcp 192.168.122.1:50002 -> 192.168.122.10:3306 in eth0")).toBe(`  nearly let through by:
    iifname "eth1" jump filter_IN_trusted_to_HOST
      failed: iifname "eth1"
    tcp dport 22 accept
      failed: tcp dport 22
    tcp dport 8080 accept
      failed: tcp dport 8080
    ip saddr 192.168.122.50 tcp dport 9090 accept
      failed: ip saddr 192.168.122.50
    meta l4proto { icmp, ipv6-icmp } accept
      failed: meta l4proto { icmp, ipv6-icmp }
`);
  });
});
