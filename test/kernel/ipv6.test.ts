/**
 * netfate against the kernel for IPv6: random ip6tables rulesets (filter with user chains,
 * conntrack, REJECT, LOG and MARK; mangle marks; nat DNAT and MASQUERADE) on a dual-homed
 * IPv6 node, packets from outside, from the pods' side and from the node itself, tagged by
 * their flow label. Every kernel path, and where the packet ended, must be one of netfate's
 * outcomes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import type { PacketSpec } from "../../src/model/packet.js";
import { KernelNode, kernelSkipReason, viewOfTopology, type Topology } from "./harness.js";
import { compareRound, newTally } from "./batch-compare.js";

const why = kernelSkipReason();
/** Another seed (NETFATE_KERNEL_SEED) explores further without changing what CI runs. */
const IPV6_SEED = Number(process.env.NETFATE_KERNEL_SEED ?? 20261127);

const TOPO: Topology = {
  family: "ipv6",
  ifaces: [{ name: "eth0", addr: "fd00:1::11/64" }, { name: "cni0", addr: "fd00:244::1/64" }],
  routes: ["default via fd00:1::1 dev eth0"],
};

const NETS = ["fd00:1::/64", "fd00:244::/64", "fd00:244::20/128", "2001:db8::/32", "fd00:96::/112", "::/0"];
const ADDRS = ["fd00:1::11", "fd00:1::50", "fd00:244::1", "fd00:244::9", "fd00:244::20", "2001:db8::7", "fd00:96::10"];

// iptables-nft cannot express `! -s ::/0` (a zero-length match the kernel refuses): not drawn.
const addr = (flag: string) =>
  fc.option(fc.tuple(fc.boolean(), fc.constantFrom(...NETS)).map(([neg, n]) => `${neg && n !== "::/0" ? "! " : ""}${flag} ${n}`), { nil: undefined });
const iface = (flag: string, names: string[]) => fc.option(fc.tuple(fc.boolean(), fc.constantFrom(...names)).map(([neg, n]) => `${neg ? "! " : ""}${flag} ${n}`), { nil: undefined });

function ruleArb(chain: string, table: "filter" | "mangle", users: string[]): fc.Arbitrary<string> {
  const inputSide = chain === "INPUT" || chain === "PREROUTING";
  const outputSide = chain === "OUTPUT" || chain === "POSTROUTING";
  const proto = fc.constantFrom("", "-p tcp", "-p udp", "-p ipv6-icmp");
  const targets: fc.Arbitrary<string>[] = [
    fc.constantFrom("-j ACCEPT", "-j DROP", "-j RETURN", "", '-j LOG --log-prefix "v6 "', "-j MARK --set-xmark 0x4000/0x4000"),
  ];
  if (table === "filter" && chain !== "OUTPUT") targets.push(fc.constant("-j REJECT --reject-with icmp6-adm-prohibited"));
  if (users.length) targets.push(fc.constantFrom(...users).map((u) => `-j ${u}`));
  return fc.record({
    s: addr("-s"), d: addr("-d"),
    i: outputSide ? fc.constant(undefined) : iface("-i", ["eth0", "cni0", "lo"]),
    o: inputSide ? fc.constant(undefined) : iface("-o", ["eth0", "cni0"]),
    p: proto, port: fc.constantFrom(22, 53, 80, 443),
    ct: fc.option(fc.constantFrom("NEW", "ESTABLISHED", "RELATED,ESTABLISHED", "INVALID"), { nil: undefined }),
    mark: fc.option(fc.constantFrom("-m mark --mark 0x4000/0x4000", "-m mark ! --mark 0x4000/0x4000"), { nil: undefined }),
    t: fc.oneof(...targets),
  }).map((r) => {
    const parts = [`-A ${chain}`, r.s, r.d, r.i, r.o, r.p];
    if (r.p === "-p tcp" || r.p === "-p udp") parts.push(`-m ${r.p.slice(3)} --dport ${r.port}`);
    if (r.ct) parts.push(`-m conntrack --ctstate ${r.ct}`);
    if (r.mark) parts.push(r.mark);
    parts.push(r.t);
    return parts.filter((x) => x).join(" ");
  });
}

const rulesetArb: fc.Arbitrary<string> = fc.record({
  input: fc.constantFrom("ACCEPT", "DROP"), forward: fc.constantFrom("ACCEPT", "DROP"),
  user: fc.boolean(), nat: fc.boolean(), mangle: fc.boolean(),
}).chain((c) => {
  const users = c.user ? ["V6-CHAIN"] : [];
  return fc.record({
    input: fc.array(ruleArb("INPUT", "filter", users), { maxLength: 4 }),
    forward: fc.array(ruleArb("FORWARD", "filter", users), { maxLength: 4 }),
    output: fc.array(ruleArb("OUTPUT", "filter", users), { maxLength: 3 }),
    userRules: fc.array(ruleArb("V6-CHAIN", "filter", []), { maxLength: 3 }),
    pre: fc.array(ruleArb("PREROUTING", "mangle", []), { maxLength: 2 }),
    dnat: fc.constantFrom(80, 443),
  }).map((r) => {
    const t: string[] = [];
    if (c.mangle) t.push("*mangle", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]", ...r.pre.map((x) => x.replace(/ -j (LOG --log-prefix "v6 "|DROP)$/, " -j ACCEPT")), "COMMIT");
    if (c.nat) {
      t.push("*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]",
        `-A PREROUTING -d fd00:96::10/128 -p tcp -m tcp --dport ${r.dnat} -j DNAT --to-destination [fd00:244::20]:8080`,
        "-A POSTROUTING -s fd00:244::/64 -o eth0 -j MASQUERADE", "COMMIT");
    }
    t.push("*filter", `:INPUT ${c.input} [0:0]`, `:FORWARD ${c.forward} [0:0]`, ":OUTPUT ACCEPT [0:0]", ...users.map((u) => `:${u} - [0:0]`),
      ...r.input, ...r.forward, ...r.output, ...(c.user ? r.userRules : []), "COMMIT");
    return t.join("\n") + "\n";
  });
});

const packetArb: fc.Arbitrary<PacketSpec> = fc.record({
  from: fc.constantFrom("eth0", "cni0", "local"),
  src: fc.constantFrom(...ADDRS), dst: fc.constantFrom(...ADDRS),
  proto: fc.constantFrom(6, 17, 58),
  sport: fc.integer({ min: 1024, max: 65535 }), dport: fc.constantFrom(22, 53, 80, 443, 8080),
}).filter((p) => p.src !== p.dst && (p.from !== "local" || p.src === "fd00:1::11" || p.src === "fd00:244::1"))
  .map((p) => {
    const s: PacketSpec = { family: "ipv6", from: p.from, src: p.src, dst: p.dst, proto: p.proto };
    if (p.proto === 58) s.icmpType = 128;
    else {
      s.sport = p.sport;
      s.dport = p.dport;
    }
    if (p.proto === 6) s.tcpFlags = 0x02;
    return s;
  });

describe.skipIf(why !== undefined)(`kernel differential, IPv6${why ? ` (skipped: ${why})` : ""}`, () => {
  let k: KernelNode;
  beforeAll(() => {
    k = new KernelNode(TOPO);
  });
  afterAll(() => k?.close());

  it("random ip6tables rulesets: every kernel path and fate is one of netfate's", async () => {
    const RULESETS = Number(process.env.NETFATE_KERNEL_IPV6 ?? 40);
    const PACKETS = 10;
    const view = viewOfTopology(TOPO);
    const cases = fc.sample(fc.tuple(rulesetArb, fc.array(packetArb, { minLength: PACKETS, maxLength: PACKETS })), { numRuns: RULESETS, seed: IPV6_SEED });
    const t = newTally();
    for (const [text, packets] of cases) {
      await compareRound(k, text, packets, view, "ipv6", t);
      if (t.disagreements.length > 3) break;
    }
    expect(t.disagreements.slice(0, 3).join("\n\n=====\n\n")).toBe("");
    console.log(`IPv6: ${t.compared} of ${RULESETS * PACKETS} compared, ${t.cutShort} up to their DNAT`);
    // What the trace lost is sent again (see KernelNode.trace); measured: 400 of 400 compared.
    expect(t.compared).toBeGreaterThanOrEqual(RULESETS * PACKETS * 0.98);
    // Most packets are compared whole, to where they ended.
    expect(t.cutShort).toBeLessThan(t.compared * 0.2);
  }, 900_000);
});
