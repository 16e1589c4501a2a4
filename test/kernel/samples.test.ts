/**
 * Every sample under samples/ through the kernel: the node is built from the sample's own facts
 * (interfaces, addresses, routes, ip_forward), its ipsets restored and its rules loaded in a
 * namespace, each packet of its packets.json sent, and the kernel's path (the rules it
 * matched, then where the packet went) must be one of netfate's outcomes.
 *
 * Devices this kernel cannot make stand in as veths when the packet's netfilter path does not
 * depend on what the device does after netfilter: a packet forwarded into tunl0 (ipip),
 * flannel.1 (vxlan) or flannel0 (tun) crosses FORWARD and POSTROUTING with OUT= that device
 * before the device's xmit encapsulates it, and a decapsulated packet enters PREROUTING with
 * IN= the tunnel like any received packet (net/ipv4/ip_tunnel_core.c iptunnel_pull_header, then
 * gro_cells_receive → netif_receive_skb). What a stand-in cannot make is the encapsulated outer
 * packet, which the device sends as the node's own (iptunnel_xmit → ip_local_out: OUTPUT, then
 * POSTROUTING, from the node's address): each such leg is sent from the node by the raw-socket
 * sender (UDP to the VXLAN port, protocol 4 for IPIP; see outerPacket) and compared with
 * netfate's `encapsulated` outcomes, addresses after NAT included. A packet that needs
 * a device whose semantics the path does depend on (wireguard) is skipped
 * the same way, never silently.
 */
import { afterAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { readInput, rulesetsOf } from "../../src/inputs.js";
import { factsFromTexts } from "../../src/facts/parse.js";
import type { NodeFacts } from "../../src/facts/model.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { buildNode } from "../../src/netfilter/model.js";
import { parsePacketText } from "../../src/packet/parse.js";
import { ipsetView, parseIpsets } from "../../src/ipset/index.js";
import { saveText } from "../../src/print/save.js";
import type { Ruleset } from "../../src/model/ast.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { NodeView, Outcome } from "../../src/model/evaluation.js";
import { isDefaultRule, KernelNode, kernelFate, kernelSkipReason, topologyRule, type Topology } from "./harness.js";
import { derivedRoutes } from "../../src/netfilter/fib.js";
import { fateAgrees, kernelSteps, netfatePaths, netfateSteps } from "./compare.js";

const why = kernelSkipReason();

const SAMPLES = resolve(import.meta.dirname, "../../samples");

/** Tunnel kinds whose device a veth stands in for (this kernel has vxlan, but a veth is enough for the inner path). */
const STAND_INS: Record<string, string> = {
  // kube-ipvs0 only holds the service addresses (this kernel has no dummy module).
  dummy: "a veth stands in for the dummy device",
  ipip: "this kernel has no ipip module",
  vxlan: "a veth stands in for the VXLAN device",
  tun: "a tun device without its flanneld reader drops what it is given; a veth stands in",
  gre: "a veth stands in for the GRE device",
};
/** Device kinds whose semantics the netfilter path depends on and this kernel lacks. */
const MISSING: Record<string, string> = {
  // drivers/net/wireguard: the device decides by its peers' allowed-ips what it sends and accepts.
  wireguard: "this kernel has no wireguard module (the device filters by its peers' allowed-ips)",
};

interface SampleCase {
  name: string;
  packet: string;
  /** The packet is taken by IPVS (the sample's ipvsadm.txt). */
  ipvs?: boolean;
  rules?: string;
  node?: string;
}

interface Group {
  sample: string;
  rulesFile?: string;
  nodeFiles: string[];
  ipsetsFile?: string;
  cases: SampleCase[];
}

function discover(): { groups: Group[]; noPackets: string[]; nftSamples: string[] } {
  const groups = new Map<string, Group>();
  const noPackets: string[] = [];
  const nftSamples: string[] = [];
  for (const sample of readdirSync(SAMPLES).sort()) {
    const dir = resolve(SAMPLES, sample);
    if (!statSync(dir).isDirectory() || sample === "regressions") continue;
    const files = readdirSync(dir).filter((f) => statSync(resolve(dir, f)).isFile());
    if (!files.includes("packets.json")) {
      noPackets.push(sample);
      continue;
    }
    // An nftables sample: nft-samples-load.test.ts sends its packets to the kernel (loaded with
    // nft -f, not iptables-restore) and test/golden/nft-samples.test.ts holds netfate to what it saw.
    if (files.includes("ruleset.nft")) {
      nftSamples.push(sample);
      continue;
    }
    const defaultRules = files.includes("rules.save") ? "rules.save" : files.find((f) => f.endsWith(".save") && !/ipset/.test(f));
    const defaultNode = files.filter((f) => /node\.json$|route.*\.txt$/.test(f));
    const ipsetsFile = files.find((f) => /^ipsets?\.save$/.test(f));
    for (const c of JSON.parse(readFileSync(resolve(dir, "packets.json"), "utf8")) as SampleCase[]) {
      const rulesFile = c.rules ?? defaultRules;
      const nodeFiles = c.node ? [c.node] : defaultNode;
      const key = `${sample}|${rulesFile}|${nodeFiles.join(",")}`;
      if (!groups.has(key)) groups.set(key, { sample, ...(rulesFile ? { rulesFile } : {}), nodeFiles, ...(ipsetsFile ? { ipsetsFile } : {}), cases: [] });
      groups.get(key)!.cases.push(c);
    }
  }
  return { groups: [...groups.values()], noPackets, nftSamples };
}

/** The kernel topology of a node's facts: which devices stand in as veths, which cannot be made. */
function topologyOf(facts: NodeFacts): { topo: Topology; standIn: Map<string, string>; missing: Map<string, string> } {
  const standIn = new Map<string, string>();
  const missing = new Map<string, string>();
  const ifaces: Topology["ifaces"] = [];
  for (const i of facts.interfaces) {
    if (i.name === "lo") continue;
    const kind = i.kind ?? i.tunnel?.kind;
    if (kind && MISSING[kind]) {
      missing.set(i.name, `${i.name} (${kind}): ${MISSING[kind]}`);
      continue;
    }
    if (kind && STAND_INS[kind]) standIn.set(i.name, `${i.name} is ${kind}: ${STAND_INS[kind]}`);
    const addrs = i.addrs.filter((a) => a.family === "ipv4").map((a) => `${a.address}/${a.prefixLength}`);
    ifaces.push({ name: i.name, ...(addrs[0] ? { addr: addrs[0] } : {}), extraAddrs: addrs.slice(1) });
  }
  const routes: string[] = [];
  for (const r of facts.routes) {
    if (r.family !== "ipv4" || r.type === "local" || r.type === "broadcast" || (r.dev && missing.has(r.dev))) continue;
    const dst = r.prefixLength === 0 ? "default" : `${r.dst}/${r.prefixLength}`;
    const words = r.type === "unicast" ? [dst] : [r.type, dst];
    // route -n cannot say onlink; a gateway beyond the device's own prefix (flannel's
    // 10.244.2.0 via flannel.1 of 10.244.1.0/32) is only accepted onlink, as flannel adds it.
    if (r.gateway) words.push("via", r.gateway);
    if (r.dev) words.push("dev", r.dev);
    if (r.gateway) words.push("onlink");
    if (r.metric !== undefined) words.push("metric", String(r.metric));
    if (r.table !== "main" && r.table !== "254") words.push("table", r.table);
    routes.push(words.join(" "));
  }
  // Gatewayless routes first: a gateway's route must exist before a route through it.
  routes.sort((a, b) => Number(/ via /.test(a)) - Number(/ via /.test(b)));
  const fwd = facts.sysctl["net.ipv4.ip_forward"];
  const topo: Topology = { ifaces, routes, forwarding: fwd === undefined || fwd !== "0" };
  // A routing dump (its kernel routes listed) is the node's table as it is: a connected route
  // it lacks was removed on the node, and is removed in the namespace too.
  if (facts.routes.some((r) => r.proto === "kernel" && (r.table === "main" || r.table === "254"))) {
    const listed = new Set(facts.routes.map((r) => `${r.dst}/${r.prefixLength}|${r.dev}|${r.table}`));
    topo.removedRoutes = facts.interfaces.flatMap((i) => derivedRoutes(i))
      .filter((r) => r.family === "ipv4" && r.table === "main" && r.dev !== "lo" && !listed.has(`${r.dst}/${r.prefixLength}|${r.dev}|main`))
      .map((r) => `${r.dst}/${r.prefixLength} dev ${r.dev}`);
  }
  const rules = (facts.rules ?? []).filter((r) => r.family === "ipv4" && !isDefaultRule(r)).map(topologyRule);
  if (rules.length) topo.rules = rules;
  const sysctls = Object.entries(facts.sysctl).filter(([k]) => k.startsWith("net.ipv4.conf."));
  if (sysctls.length) topo.sysctls = Object.fromEntries(sysctls.map(([k, v]) => [k, Number(v)]));
  return { topo, standIn, missing };
}


/**
 * The outer packet a tunnel device sends for an outcome's packet, as the node sends it itself
 * (OUTPUT, then POSTROUTING): to the remote netfate's tunnel view names, UDP to the device's
 * port for VXLAN, protocol 4 for IPIP; from the device's fixed source where it has one, else
 * from the address the node's route picks. The raw socket sends it in a fresh skb, so what the
 * device would carry over from the inner packet's skb (its mark: skb_scrub_packet keeps it
 * within a namespace) is not there; test/kernel/cluster.test.ts pins that with a real VXLAN
 * device. VXLAN's source port is a hash of the inner flow: 40000 stands in for it. A string:
 * why the outer packet cannot be made.
 */
function outerPacket(view: NodeView, o: Outcome): PacketSpec | string {
  const dev = "iface" in o.fate ? o.fate.iface : undefined;
  const t = dev ? view.tunnel(dev) : undefined;
  if (!dev || !t) return `${dev ?? "the device"} is no tunnel netfate knows`;
  const dst = t.outerDestination(o.fate.kind === "forwarded" || o.fate.kind === "sent" ? o.fate.via : undefined, o.final.dst);
  if (!dst) return `netfate's view of ${dev} names no remote for ${o.final.dst}`;
  const src = (t as { outerSrc?: string }).outerSrc;
  const spec: PacketSpec = { family: "ipv4", from: "local", dst, proto: t.outerProto, ...(src ? { src } : {}) };
  if (t.outerProto === 17) Object.assign(spec, { sport: t.outerSport ?? 40000, dport: t.outerDport ?? 8472 });
  else if (t.outerProto !== 4) return `${dev} (${t.kind}) sends protocol ${t.outerProto}, which the raw sender does not build`;
  return spec;
}

function read(sample: string, f: string): string {
  return readFileSync(resolve(SAMPLES, sample, f), "utf8");
}

/** What iptables-restore is given: a save file as written, anything else (listings) printed in save form. */
function restoreText(rulesets: Ruleset[], text: string): string {
  return rulesets.every((r) => r.format === "save") ? text : rulesets.map((r) => saveText(r)).join("");
}

function pathOf(o: Outcome): string {
  return netfateSteps(o).join("\n");
}

const { groups, noPackets, nftSamples } = discover();

describe.skipIf(why !== undefined)(`samples through the kernel${why ? ` (skipped: ${why})` : ""}`, () => {
  const nodes: KernelNode[] = [];
  afterAll(() => {
    for (const k of nodes) k.close();
  });

  for (const sample of noPackets) it.skip(`${sample}: skipped — no packets.json, nothing to send`, () => {});
  it("leaves the nftables samples to their own kernel test", () => {
    expect(nftSamples.length).toBeGreaterThan(0);
  });

  for (const g of groups) {
    const { facts, diagnostics } = factsFromTexts(g.nodeFiles.map((f) => ({ file: f, text: read(g.sample, f) })));
    const rulesText = g.rulesFile ? read(g.sample, g.rulesFile) : "";
    const rulesets = g.rulesFile ? rulesetsOf(readInput(rulesText, { file: g.rulesFile }).input) : [];
    const ipsetsText = g.ipsetsFile ? read(g.sample, g.ipsetsFile) : undefined;
    const sets = ipsetsText ? parseIpsets(ipsetsText, { file: g.ipsetsFile }).value : undefined;
    const view = nodeViewFromFacts(facts);
    const netfate = buildNode({ rulesets, node: view, ...(sets ? { ipsets: ipsetView(sets) } : {}) });
    const { topo, standIn, missing } = topologyOf(facts);
    // Static neighbours for every next hop netfate expects (gateways get theirs from the routes).
    topo.neighbours = g.cases.flatMap((c) => {
      const p = parsePacketText(c.packet);
      if (!p.ok) return [];
      return netfate.evaluate(p.packet).outcomes.flatMap((o) =>
        (o.fate.kind === "forwarded" || o.fate.kind === "sent") && !o.fate.via && topo.ifaces.some((i) => i.name === (o.fate as { iface: string }).iface) ? [{ addr: o.final.dst, dev: o.fate.iface }] : []);
    });
    const tables = new Set(rulesets.flatMap((r) => r.tables.map((t) => t.name)));
    const where = `${g.sample}${g.rulesFile ? ` (${g.rulesFile})` : " (no rules: routing only)"}`;
    let k: KernelNode | undefined;
    const kernel = (): KernelNode => {
      if (!k) {
        expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
        k = new KernelNode(topo);
        nodes.push(k);
        k.load(restoreText(rulesets, rulesText), ipsetsText);
      }
      return k;
    };

    for (const c of g.cases) {
      const parsed = parsePacketText(c.packet);
      if (!parsed.ok) throw new Error(`${g.sample}: ${c.packet}: ${parsed.error}`);
      const packet: PacketSpec = parsed.packet;
      // An established packet needs its connection in the kernel's conntrack: the node's own
      // connection is made by sending its first packet from the node, and the packet under
      // test is then that connection's first reply (SYN-ACK for TCP, as the kernel expects
      // after a SYN; netfate is given the same flags).
      const local = new Set(facts.interfaces.flatMap((i) => i.addrs.map((a) => a.address)));
      let opener: PacketSpec | undefined;
      if (packet.state === "established") {
        if (!local.has(packet.dst) || packet.from === "local" || (packet.proto !== 6 && packet.proto !== 17)) {
          it.skip(`${where}: ${c.name} — skipped: an established packet of a connection the harness cannot open (only the node's own TCP/UDP connections)`, () => {});
          continue;
        }
        if (packet.proto === 6) packet.tcpFlags ??= 0x12;
        opener = { family: "ipv4", from: "local", src: packet.dst, dst: packet.src!, proto: packet.proto, sport: packet.dport!, dport: packet.sport!, ...(packet.proto === 6 ? { tcpFlags: 0x02 } : {}) };
      }
      // IPVS takes such a packet in LOCAL_IN after filter and security INPUT (ip_vs_core.c
      // ip_vs_in_hook); this kernel has no IPVS, so the path is compared up to there: the
      // kernel delivers the packet to the service address, and netfate is asked without the
      // IPVS table (what IPVS then does is pinned by test/unit/ipvs-*.test.ts and
      // test/golden/ipvs-seed-000.test.ts).
      const upToIpvs = c.ipvs ? " [compared up to IPVS's hook in LOCAL_IN: this kernel has no IPVS]" : "";
      const outcomes = netfate.evaluate(packet).outcomes;
      const devices = new Set([packet.from, ...outcomes.flatMap((o) => ("iface" in o.fate && o.fate.iface ? [o.fate.iface] : []))]);
      const missingDevs = [...devices].filter((d) => missing.has(d));
      const localOnMissing = facts.interfaces.find((i) => missing.has(i.name) && i.addrs.some((a) => a.address === packet.dst));
      if (missingDevs.length || localOnMissing) {
        const reason = [...missingDevs.map((d) => missing.get(d)!), ...(localOnMissing ? [`the destination is an address of ${missing.get(localOnMissing.name)}`] : [])].join("; ");
        it.skip(`${where}: ${c.name} — skipped: ${reason}`, () => {});
        continue;
      }
      const stand = [...devices].filter((d) => standIn.has(d)).map((d) => standIn.get(d)!);
      it(`${where}: ${c.name}${stand.length ? ` [${stand.join("; ")}]` : ""}${upToIpvs}`, async () => {
        if (opener) {
          const [open] = await kernel().trace([opener]);
          expect(open, `the opening packet ${JSON.stringify(opener)} left the node`).toMatchObject({ hooks: expect.arrayContaining(["postrouting"]) });
        }
        const [kt] = await kernel().trace([packet], { stateful: opener !== undefined });
        expect(kt, `no kernel trace of ${c.packet} (trace lines lost?)`).toBeDefined();
        if (kt === undefined) return;
        const ours = outcomes.map((o) => `${pathOf(o)}\n=> ${JSON.stringify(o.fate)}`);
        if (kt === "send-failed") {
          expect(outcomes.every((o) => fateAgrees("send-failed", o.fate)), `the kernel refused to send ${c.packet}; netfate:\n${ours.join("\n--- or ---\n")}`).toBe(true);
          return;
        }
        const path = kernelSteps(kt.steps, tables).join("\n");
        const fate = kernelFate(kt);
        const agreeing = outcomes.filter((o) => netfatePaths(o).some((q) => q.join("\n") === path) && fateAgrees(fate, o.fate));
        expect(agreeing.length, `kernel:\n${path}\n=> ${JSON.stringify(fate)}\nnetfate:\n${ours.join("\n--- or ---\n")}`).toBeGreaterThan(0);
      });
      for (const [i, o] of outcomes.entries()) {
        if (!o.encapsulated?.length || !("iface" in o.fate) || !o.fate.iface) continue;
        const leg = `${where}: ${c.name}${outcomes.length > 1 ? ` (outcome ${i + 1})` : ""}: the encapsulated outer packet`;
        const outer = outerPacket(view, o);
        if (typeof outer === "string") {
          it.skip(`${leg} — skipped: ${outer}`, () => {});
          continue;
        }
        it(`${leg} [sent from the node by a raw socket; ${standIn.get(o.fate.iface) ?? `${o.fate.iface} is a tunnel`}]`, async () => {
          kernel().flushConntrack();
          const [kt] = await kernel().trace([outer]);
          expect(kt, `no kernel trace of the outer packet ${JSON.stringify(outer)}`).toBeDefined();
          if (kt === undefined) return;
          const legs = o.encapsulated!;
          const ours = legs.map((e) => `${pathOf(e)}\n=> ${JSON.stringify(e.fate)} as ${e.final.src} -> ${e.final.dst}:${e.final.dport ?? ""}`);
          if (kt === "send-failed") {
            expect(legs.every((e) => fateAgrees("send-failed", e.fate)), `the kernel refused to send the outer packet; netfate:\n${ours.join("\n--- or ---\n")}`).toBe(true);
            return;
          }
          const path = kernelSteps(kt.steps, tables).join("\n");
          const fate = kernelFate(kt);
          // The outer packet's own addresses after the node's NAT, and where it went.
          const agreeing = legs.filter((e) => netfatePaths(e).some((q) => q.join("\n") === path) && fateAgrees(fate, e.fate)
            && e.final.dst === kt.lastDst && (fate.kind === "stopped" || e.final.src === kt.lastSrc) && e.final.dport === outer.dport);
          expect(agreeing.length, `kernel:\n${path}\n=> ${JSON.stringify(fate)} as ${kt.lastSrc} -> ${kt.lastDst}\nnetfate:\n${ours.join("\n--- or ---\n")}`).toBeGreaterThan(0);
        });
      }
    }
  }
});
