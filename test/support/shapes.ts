/**
 * Random rulesets in the shapes real nodes have, as iptables-save text: kube-proxy's nat
 * and filter chains (ClusterIPs, NodePorts, endpoints picked by statistic, KUBE-MARK-MASQ,
 * masquerade on the mark, REJECT for services without endpoints), Docker's port publishing
 * and masquerade, and Calico-style mark bits in mangle with conntrack shortcuts, each part
 * present or not, plus the packets worth sending at them (the constants in the rules).
 * The node these shapes assume: eth0 192.168.0.11/24 (the outside), cni0 10.244.0.1/24 (the
 * pods), default route via eth0.
 */
import fc from "fast-check";
import type { PacketSpec } from "../../src/model/packet.js";

export const NODE_IP = "192.168.0.11";
export const SHAPES_NODE = {
  addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] },
  routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }],
};

interface Service {
  name: string;
  clusterIp: string;
  port: number;
  proto: "tcp" | "udp";
  nodePort?: number;
  endpoints: Array<{ ip: string; port: number }>;
}

export interface ShapedRuleset {
  text: string;
  /** Addresses and ports the rules mention: what the packets are drawn from. */
  addresses: string[];
  ports: number[];
}

const hash = (s: string) => {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h.toString(36).toUpperCase().padStart(8, "X").slice(0, 8);
};

/**
 * kube-proxy asks for 1/(n-i) for the i-th of n endpoints; the kernel keeps it in units of
 * 2^-31 and iptables-save prints that back with 11 decimals (1/3 reads 0.33333333349).
 */
const probability = (i: number, n: number) => (Math.round(0x80000000 / (n - i)) / 0x80000000).toFixed(11);

const serviceArb = (i: number): fc.Arbitrary<Service> =>
  fc.record({
    proto: fc.constantFrom("tcp", "udp") as fc.Arbitrary<"tcp" | "udp">,
    port: fc.constantFrom(53, 80, 443, 8080),
    nodePort: fc.option(fc.constant(30000 + i), { nil: undefined }),
    endpoints: fc.uniqueArray(fc.integer({ min: 20, max: 40 }), { maxLength: 3 }),
    targetPort: fc.constantFrom(8080, 9376),
  }).map((r) => ({
    name: `ns/svc${i}:p`,
    clusterIp: `10.96.0.${10 + i}`,
    port: r.port,
    proto: r.proto,
    ...(r.nodePort !== undefined ? { nodePort: r.nodePort } : {}),
    endpoints: r.endpoints.map((e) => ({ ip: `10.244.0.${e}`, port: r.targetPort })),
  }));

function kubeProxy(services: Service[]): { nat: string[]; natChains: string[]; filter: string[]; filterChains: string[] } {
  const nat: string[] = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
    "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
    "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0",
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  ];
  const natChains = ["KUBE-MARK-MASQ", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-SERVICES"];
  const filter: string[] = [
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
  ];
  const filterChains = ["KUBE-FORWARD", "KUBE-SERVICES"];
  for (const s of services) {
    const svc = `KUBE-SVC-${hash(s.name)}`;
    const m = `-p ${s.proto} -m comment --comment "${s.name}"`;
    if (s.endpoints.length === 0) {
      filter.push(`-A KUBE-SERVICES -d ${s.clusterIp}/32 ${m} -m ${s.proto} --dport ${s.port} -j REJECT --reject-with icmp-port-unreachable`);
      continue;
    }
    natChains.push(svc);
    nat.push(`-A KUBE-SERVICES -d ${s.clusterIp}/32 ${m} -m ${s.proto} --dport ${s.port} -j ${svc}`);
    nat.push(`-A ${svc} ! -s 10.244.0.0/16 -d ${s.clusterIp}/32 ${m} -m ${s.proto} --dport ${s.port} -j KUBE-MARK-MASQ`);
    if (s.nodePort !== undefined) {
      nat.push(`-A KUBE-NODEPORTS ${m} -m ${s.proto} --dport ${s.nodePort} -j KUBE-MARK-MASQ`);
      nat.push(`-A KUBE-NODEPORTS ${m} -m ${s.proto} --dport ${s.nodePort} -j ${svc}`);
    }
    s.endpoints.forEach((e, i) => {
      const sep = `KUBE-SEP-${hash(s.name + e.ip)}`;
      natChains.push(sep);
      const stat = i < s.endpoints.length - 1 ? ` -m statistic --mode random --probability ${probability(i, s.endpoints.length)}` : "";
      nat.push(`-A ${svc} -m comment --comment "${s.name} -> ${e.ip}:${e.port}"${stat} -j ${sep}`);
      nat.push(`-A ${sep} -s ${e.ip}/32 -m comment --comment "${s.name}" -j KUBE-MARK-MASQ`);
      nat.push(`-A ${sep} ${m} -m ${s.proto} -j DNAT --to-destination ${e.ip}:${e.port}`);
    });
  }
  nat.push('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  return { nat, natChains, filter, filterChains };
}

/** Docker publishing host port `hostPort` to a container on cni0, and masquerading its bridge. */
function docker(hostPort: number, container: string): { nat: string[]; filter: string[] } {
  return {
    nat: [
      "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
      "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER",
      "-A POSTROUTING -s 10.244.0.0/24 ! -o cni0 -j MASQUERADE",
      "-A DOCKER -i cni0 -j RETURN",
      `-A DOCKER ! -i cni0 -p tcp -m tcp --dport ${hostPort} -j DNAT --to-destination ${container}:80`,
    ],
    filter: [
      "-A FORWARD -j DOCKER-USER",
      "-A FORWARD -o cni0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      "-A FORWARD -o cni0 -j DOCKER",
      "-A FORWARD -i cni0 ! -o cni0 -j ACCEPT",
      "-A DOCKER-USER -j RETURN",
      `-A DOCKER -d ${container}/32 ! -i cni0 -o cni0 -p tcp -m tcp --dport 80 -j ACCEPT`,
    ],
  };
}

/** Calico-style: mark bits set in mangle, accepted early in filter when the bit is set. */
function calicoMarks(): { mangle: string[]; filter: string[] } {
  return {
    mangle: [
      "-A PREROUTING -j cali-PREROUTING",
      "-A cali-PREROUTING -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      "-A cali-PREROUTING -i cni0 -j MARK --set-xmark 0x40000/0x40000",
      "-A cali-PREROUTING -m mark --mark 0x40000/0x40000 -j ACCEPT",
    ],
    filter: [
      "-A FORWARD -m mark --mark 0x40000/0x40000 -m comment --comment \"cali:from-workload\" -j ACCEPT",
    ],
  };
}

function table(name: string, builtins: string[], policies: Record<string, string>, chains: string[], rules: string[]): string {
  const lines = [`*${name}`];
  const order = [...builtins, ...[...new Set(chains)].sort()];
  for (const b of builtins) lines.push(`:${b} ${policies[b] ?? "ACCEPT"} [0:0]`);
  for (const c of order.slice(builtins.length)) lines.push(`:${c} - [0:0]`);
  // iptables-save prints a chain's rules together, chains in declaration order.
  const chainOf = (r: string) => order.indexOf(r.split(" ")[1]!);
  const sorted = rules.map((r, i) => ({ r, i })).sort((a, b) => chainOf(a.r) - chainOf(b.r) || a.i - b.i).map((x) => x.r);
  return [...lines, ...sorted, "COMMIT"].join("\n");
}

export const shapedRuleset: fc.Arbitrary<ShapedRuleset> = fc
  .record({
    services: fc.integer({ min: 0, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => serviceArb(i + 1)))),
    docker: fc.option(fc.tuple(fc.constantFrom(8000, 8080, 30001), fc.constantFrom("10.244.0.50", "10.244.0.51")), { nil: undefined }),
    calico: fc.boolean(),
    forwardPolicy: fc.constantFrom("ACCEPT", "DROP"),
    inputPolicy: fc.constantFrom("ACCEPT", "DROP"),
  })
  .map((r) => {
    const kp = kubeProxy(r.services);
    const d = r.docker ? docker(r.docker[0], r.docker[1]) : undefined;
    const cal = r.calico ? calicoMarks() : undefined;
    const tables: string[] = [];
    if (cal) tables.push(table("mangle", ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"], {}, ["cali-PREROUTING"], cal.mangle));
    tables.push(table("nat", ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"], {}, [...kp.natChains, ...(d ? ["DOCKER"] : [])], [...(d?.nat ?? []), ...kp.nat]));
    tables.push(table("filter", ["INPUT", "FORWARD", "OUTPUT"], { INPUT: r.inputPolicy, FORWARD: r.forwardPolicy }, [...kp.filterChains, ...(d ? ["DOCKER", "DOCKER-USER"] : [])], [
      ...(cal?.filter ?? []), ...(d?.filter ?? []), ...kp.filter,
      // A node that drops what it does not serve: ssh from the pods' network only.
      "-A INPUT -s 10.244.0.0/16 -p tcp -m tcp --dport 22 -j ACCEPT",
    ]));
    const addresses = [NODE_IP, "10.244.0.1", "8.8.8.8", ...r.services.flatMap((s) => [s.clusterIp, ...s.endpoints.map((e) => e.ip)]), ...(r.docker ? [r.docker[1]] : [])];
    const ports = [22, ...r.services.flatMap((s) => [s.port, ...(s.nodePort !== undefined ? [s.nodePort] : []), ...s.endpoints.map((e) => e.port)]), ...(r.docker ? [r.docker[0], 80] : [])];
    return { text: tables.join("\n") + "\n", addresses: [...new Set(addresses)], ports: [...new Set(ports)] };
  });

/** Packets at a shaped ruleset: from outside, from a pod, from the node; to its constants. */
export function shapedPackets(r: ShapedRuleset, count: number): fc.Arbitrary<PacketSpec[]> {
  const one = fc.record({
    from: fc.constantFrom("eth0", "cni0", "local"),
    src: fc.constantFrom("192.168.0.50", "203.0.113.7", "10.244.0.9", "10.244.0.30"),
    dst: fc.constantFrom(...r.addresses),
    proto: fc.constantFrom(6, 17),
    sport: fc.integer({ min: 1024, max: 65535 }),
    dport: fc.oneof(fc.constantFrom(...r.ports), fc.integer({ min: 1, max: 65535 })),
  }).filter((p) => p.src !== p.dst && !(p.from === "cni0" && !p.src.startsWith("10.244.")) && !(p.from === "eth0" && p.src.startsWith("10.244.")))
    .map((p) => {
      const s: PacketSpec = { family: "ipv4", from: p.from, dst: p.dst, proto: p.proto, sport: p.sport, dport: p.dport };
      if (p.from !== "local") s.src = p.src;
      if (p.proto === 6) s.tcpFlags = 0x02;
      return s;
    });
  return fc.array(one, { minLength: count, maxLength: count });
}
