/**
 * netfate's routing decisions against the kernel's own: `ip route get DST from SRC iif DEV mark
 * M` asks ip_route_input (and without `iif`, ip_route_output) in a network namespace built from
 * the same node facts netfate reads — policy rules (fwmark, from, to, goto, suppress, the
 * unreachable/blackhole/prohibit actions), a second and third table with a throw route, error
 * routes, an address-less pod interface, and the rp_filter, route_localnet and forwarding
 * sysctls. Every query's answer is compared: local, the device and gateway it leaves by, or
 * the error the kernel refuses it with.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FactRule, NodeFacts } from "../../src/facts/model.js";
import { parseRouteLine } from "../../src/facts/route-line.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import type { RouteDecision } from "../../src/model/evaluation.js";
import { ipRuleArgs, kernelSkipReason, topologyRule } from "./harness.js";

const why = kernelSkipReason();
const NS = `nfrg${process.pid}`;
const PEER = `nfrp${process.pid}`;

const IFACES = [
  { name: "eth0", addr: "10.0.0.1/24" },
  { name: "eth1", addr: "10.1.0.1/24" },
  // A Calico-style pod veth: no address on the node side.
  { name: "cali1" },
];
const ROUTES = [
  "default via 10.0.0.254 dev eth0",
  "10.244.0.5 dev cali1 scope link",
  "blackhole 10.244.0.0/26",
  "unreachable 10.60.0.0/16",
  "prohibit 10.61.0.0/16",
  "default via 10.1.0.254 dev eth1 table 100",
  "10.9.0.0/16 via 10.1.0.254 dev eth1 table 200",
  "throw 10.9.1.0/24 table 200",
  "10.70.0.0/16 via 10.1.0.254 dev eth1 table 300",
];
const RULES: FactRule[] = [
  { family: "ipv4", priority: 0, action: "lookup", table: "local" },
  { family: "ipv4", priority: 90, action: "lookup", table: "300", suppressPrefixLength: 8 },
  { family: "ipv4", priority: 100, fwmark: 1, fwmask: 1, action: "lookup", table: "100" },
  { family: "ipv4", priority: 110, fwmark: 4, fwmask: 4, action: "goto", goto: 150 },
  { family: "ipv4", priority: 120, from: { address: "10.1.0.0", prefixLength: 24 }, iif: "eth0", action: "lookup", table: "100" },
  { family: "ipv4", priority: 150, from: { address: "10.244.0.0", prefixLength: 24 }, action: "lookup", table: "200" },
  { family: "ipv4", priority: 160, to: { address: "10.50.0.0", prefixLength: 16 }, action: "unreachable" },
  { family: "ipv4", priority: 161, to: { address: "10.51.0.0", prefixLength: 16 }, action: "blackhole" },
  { family: "ipv4", priority: 162, to: { address: "10.52.0.0", prefixLength: 16 }, action: "prohibit" },
  { family: "ipv4", priority: 170, not: true, to: { address: "10.0.0.0", prefixLength: 8 }, fwmark: 8, fwmask: 8, action: "lookup", table: "100" },
  { family: "ipv4", priority: 32766, action: "lookup", table: "main" },
  { family: "ipv4", priority: 32767, action: "lookup", table: "default" },
];

function sh(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8" });
  return { ok: r.status === 0, out: (r.stdout + r.stderr).trim() };
}

function must(args: string[]): void {
  const r = sh(args);
  if (!r.ok) throw new Error(`${args.join(" ")}: ${r.out}`);
}

function facts(sysctl: Record<string, string>, withRules: boolean): NodeFacts {
  const f: NodeFacts = {
    interfaces: IFACES.map((i) => ({
      name: i.name,
      addrs: i.addr ? [{ address: i.addr.split("/")[0]!, prefixLength: Number(i.addr.split("/")[1]), family: "ipv4" as const }] : [],
    })),
    routes: ROUTES.map((l) => {
      const r = parseRouteLine(l);
      if (!r.ok) throw new Error(r.error);
      return r.route;
    }),
    sysctl,
  };
  // Without rules the facts say nothing of them: the kernel's defaults stand (and rp_filter's
  // fast path, which only a node that never had a custom rule takes).
  if (withRules) f.rules = RULES;
  return f;
}

/** The kernel's answer, reduced to what both sides say: `local`, `dev X via G`, or the error. */
function kernelAnswer(line: string): string {
  const err = /^RTNETLINK answers: (.*)$/m.exec(line);
  if (err) return `error: ${err[1]}`;
  const first = line.split("\n")[0]!;
  if (/^(local|broadcast|multicast) /.test(first) || / dev lo\b/.test(first)) return "local";
  const dev = / dev (\S+)/.exec(first)?.[1];
  const via = / via (\S+)/.exec(first)?.[1];
  return `dev ${dev}${via ? ` via ${via}` : ""}`;
}

/** netfate's decision in the same terms (the errnos ip_route_input/output return for each). */
function netfateAnswer(d: RouteDecision): string {
  switch (d.kind) {
    case "local":
      return "local";
    case "unicast":
      return `dev ${d.dev}${d.gateway ? ` via ${d.gateway}` : ""}`;
    case "martian":
    case "blackhole":
      return "error: Invalid argument";
    case "prohibit":
      return "error: Permission denied";
    case "unreachable":
      // An `unreachable` rule is ENETUNREACH; an unreachable route, EHOSTUNREACH.
      return d.detail?.startsWith("rule ") ? "error: Network is unreachable" : "error: No route to host";
    case "not-forwarding":
      return "error: No route to host";
    case "none":
      return "error: Network is unreachable";
    default:
      return `${d.kind}: ${"reason" in d ? d.reason : ""}`;
  }
}

interface Query {
  dst: string;
  src?: string;
  iif?: string;
  mark?: number;
}

const QUERIES: Query[] = [
  { dst: "8.8.8.8", src: "10.244.0.5", iif: "cali1" },
  { dst: "8.8.8.8", src: "10.244.0.9", iif: "cali1" },
  { dst: "10.9.0.5", src: "10.244.0.5", iif: "cali1" },
  { dst: "10.9.1.5", src: "10.244.0.5", iif: "cali1" },
  { dst: "10.50.0.1", src: "10.0.0.7", iif: "eth0" },
  { dst: "10.51.0.1", src: "10.0.0.7", iif: "eth0" },
  { dst: "10.52.0.1", src: "10.0.0.7", iif: "eth0" },
  { dst: "10.60.0.1", src: "10.0.0.7", iif: "eth0" },
  { dst: "10.61.0.1", src: "10.0.0.7", iif: "eth0" },
  { dst: "10.244.0.9", src: "10.0.0.7", iif: "eth0" },
  { dst: "10.70.0.1", src: "10.0.0.7", iif: "eth0" },
  { dst: "8.8.8.8", src: "10.0.0.7", iif: "eth0", mark: 1 },
  { dst: "8.8.8.8", src: "10.0.0.7", iif: "eth0", mark: 4 },
  { dst: "10.9.0.5", src: "10.0.0.7", iif: "eth0", mark: 4 },
  { dst: "8.8.8.8", src: "10.0.0.7", iif: "eth0", mark: 8 },
  { dst: "10.9.0.5", src: "10.0.0.7", iif: "eth0", mark: 8 },
  { dst: "8.8.8.8", src: "10.1.0.7", iif: "eth0" },
  { dst: "8.8.8.8", src: "10.1.0.7", iif: "eth1" },
  { dst: "8.8.8.8", src: "10.9.0.7", iif: "eth1" },
  { dst: "8.8.8.8", src: "10.60.0.9", iif: "eth0" },
  { dst: "10.0.0.1", src: "10.0.0.1", iif: "eth0" },
  { dst: "10.0.0.1", src: "10.1.0.7", iif: "eth0" },
  { dst: "10.1.0.1", src: "10.0.0.7", iif: "eth0" },
  { dst: "10.0.0.255", src: "10.0.0.7", iif: "eth0" },
  { dst: "10.0.0.0", src: "10.0.0.7", iif: "eth0" },
  { dst: "255.255.255.255", src: "10.0.0.7", iif: "eth0" },
  { dst: "255.255.255.255", src: "0.0.0.0", iif: "eth0" },
  { dst: "8.8.8.8", src: "10.0.0.255", iif: "eth0" },
  { dst: "127.0.0.1", src: "10.0.0.7", iif: "eth0" },
  { dst: "8.8.8.8", src: "127.0.0.5", iif: "eth0" },
  { dst: "8.8.8.8", src: "0.0.0.0", iif: "eth0" },
  { dst: "8.8.8.8", src: "0.1.2.3", iif: "eth0" },
  { dst: "0.0.0.0", src: "10.0.0.7", iif: "eth0" },
  { dst: "8.8.8.8", src: "224.0.0.5", iif: "eth0" },
  { dst: "224.0.0.1", src: "10.0.0.7", iif: "eth0" },
  { dst: "239.1.1.1", src: "10.0.0.7", iif: "eth0" },
  // Locally generated.
  { dst: "8.8.8.8" },
  { dst: "8.8.8.8", mark: 1 },
  { dst: "10.9.0.5" },
  { dst: "10.9.0.5", src: "10.0.0.1" },
  { dst: "10.50.0.1" },
  { dst: "10.60.0.1" },
  { dst: "10.0.0.2", src: "127.0.0.1" },
  { dst: "10.1.0.2", src: "127.0.0.1" },
  { dst: "127.0.0.1" },
  { dst: "10.0.0.1" },
];

/** Every setting sets every key, so none lingers from the one before. */
const BASE: Record<string, string> = {
  "net.ipv4.ip_forward": "1",
  ...Object.fromEntries(["all", "eth0", "eth1", "cali1"].flatMap((d) => [
    [`net.ipv4.conf.${d}.rp_filter`, "0"], [`net.ipv4.conf.${d}.route_localnet`, "0"], [`net.ipv4.conf.${d}.accept_local`, "0"],
  ])),
};

const SETTINGS: Array<{ name: string; sysctl: Record<string, string> }> = ([
  { name: "forwarding, rp_filter off", sysctl: {} },
  { name: "strict rp_filter on all", sysctl: { "net.ipv4.conf.all.rp_filter": "1" } },
  { name: "loose rp_filter on eth0 and cali1, strict on all", sysctl: { "net.ipv4.conf.all.rp_filter": "1", "net.ipv4.conf.eth0.rp_filter": "2", "net.ipv4.conf.cali1.rp_filter": "2" } },
  { name: "route_localnet on eth0", sysctl: { "net.ipv4.conf.eth0.route_localnet": "1" } },
  { name: "route_localnet on all", sysctl: { "net.ipv4.conf.all.route_localnet": "1" } },
  { name: "forwarding off", sysctl: { "net.ipv4.ip_forward": "0" } },
  { name: "accept_local on eth0", sysctl: { "net.ipv4.conf.eth0.accept_local": "1" } },
  { name: "accept_local and strict rp_filter on eth0", sysctl: { "net.ipv4.conf.eth0.accept_local": "1", "net.ipv4.conf.eth0.rp_filter": "1" } },
] as Array<{ name: string; sysctl: Record<string, string> }>).map((s) => ({ ...s, sysctl: { ...BASE, ...s.sysctl } }));

for (const withRules of [true, false]) {
  describe.skipIf(why)(`routing decisions against \`ip route get\`, ${withRules ? "with policy rules" : "with the kernel's default rules"}`, () => {
    const ns = `${NS}${withRules ? "r" : "d"}`;
    const peer = `${PEER}${withRules ? "r" : "d"}`;
    beforeAll(() => {
      must(["ip", "netns", "add", ns]);
      must(["ip", "netns", "add", peer]);
      must(["ip", "-n", ns, "link", "set", "lo", "up"]);
      for (const i of IFACES) {
        must(["ip", "-n", ns, "link", "add", i.name, "type", "veth", "peer", "name", `p-${i.name}`, "netns", peer]);
        must(["ip", "-n", ns, "link", "set", i.name, "up"]);
        must(["ip", "-n", peer, "link", "set", `p-${i.name}`, "up"]);
        if (i.addr) must(["ip", "-n", ns, "addr", "add", i.addr, "dev", i.name]);
      }
      for (const l of ROUTES) must(["ip", "-n", ns, "route", "add", ...l.split(" ")]);
      if (withRules) for (const r of RULES) if (r.priority !== 0 && r.priority < 32766) must(["ip", "-n", ns, "rule", "add", ...ipRuleArgs(topologyRule(r))]);
    });
    afterAll(() => {
      sh(["ip", "netns", "del", ns]);
      sh(["ip", "netns", "del", peer]);
    });

    for (const s of SETTINGS) {
      it(s.name, () => {
        for (const [k, v] of Object.entries(s.sysctl)) must(["ip", "netns", "exec", ns, "sysctl", "-qw", `${k}=${v}`]);
        const view = nodeViewFromFacts(facts(s.sysctl, withRules));
        const disagreements: string[] = [];
        for (const q of QUERIES) {
          const args = ["ip", "-n", ns, "route", "get", q.dst];
          if (q.src) args.push("from", q.src);
          if (q.iif) args.push("iif", q.iif);
          if (q.mark) args.push("mark", String(q.mark));
          const kernel = kernelAnswer(sh(args).out);
          const d = q.iif
            ? view.routeInput({ family: "ipv4", dst: q.dst, src: q.src!, iif: q.iif, mark: q.mark ?? 0 })
            : view.routeOutput({ family: "ipv4", dst: q.dst, mark: q.mark ?? 0, ...(q.src ? { src: q.src } : {}) });
          const ours = netfateAnswer(d);
          if (ours !== kernel) disagreements.push(`${args.slice(3).join(" ")}: kernel ${kernel}, netfate ${ours}${"detail" in d && d.detail ? ` (${d.detail})` : ""}`);
        }
        expect(disagreements).toEqual([]);
      });
    }
  });
}
