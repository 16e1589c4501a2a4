/**
 * Generates what kube-proxy's nftables mode makes of the same cluster as gen-kube-proxy.ts
 * (same services, cluster IPs, endpoints and NodePorts), so that the two modes of one cluster
 * can be compared: `kubeNftDump` is `nft list ruleset` text exactly as nft 1.0.6 prints it,
 * `kubeNftScript` the `nft -f` transaction kube-proxy would send for it.
 *
 * Shapes follow kube-proxy's own expectations in pkg/proxy/nftables/proxier_test.go
 * (kubernetes commit 81810de6): table ip kube-proxy; the cluster-ips and nodeport-ips sets;
 * the service-ips / service-nodeports verdict maps and the firewall-ips / no-endpoint-* maps;
 * filter-* and nat-* base chains; per service a `service-HASH-ns/name/tcp/port` chain that
 * marks off-cluster sources for masquerade and picks an endpoint with `numgen random mod N
 * vmap`, an `external-` chain for NodePorts (externalTrafficPolicy Cluster) and one
 * `endpoint-` chain per endpoint that DNATs. NodePorts are matched on the node's own address
 * (`nodeport-ips`, kube-proxy's default `--nodeport-addresses primary`), where the iptables
 * mode's dump matches every local address.
 *
 * How nft prints was asked of nft 1.0.6 in a netns (test/kernel/nft-bench-gen.test.ts loads
 * the dump and lists it back): elements of a named set are sorted by value — a plain address
 * by its number, a concatenation by its bytes read as one little-endian number (so the last
 * byte counts most) — and wrapped two addresses or one map element per line; priorities are
 * printed by name only where nft 1.0.6 has one for that hook (dstnat - 10 in prerouting, but
 * -110 and -100 in output).
 */
import { createHash } from "node:crypto";
import { KUBE_POD_CIDR, kubeService, type KubeProxyDumpOptions, type KubeService } from "./gen-kube-proxy.js";

export interface KubeNftOptions extends KubeProxyDumpOptions {
  /** The node's primary address, the one NodePorts are answered on; default 192.168.0.11. */
  nodeIp?: string;
  /** The service CIDR whose unallocated addresses are dropped; default 10.96.0.0/12. */
  serviceCidr?: string;
}

/** kube-proxy's masquerade mark (--masquerade-bit 14). */
const MASQ_MARK = "0x00004000";
const SERVICE_PORT = 80;
const TARGET_PORT = 8080;
const TCP = 6;

/** kube-proxy's chain-name hash: the first 8 base32 characters of the name's SHA-256. */
export function nameHash(name: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const digest = createHash("sha256").update(name).digest();
  // 8 base32 characters are the first 40 bits.
  let bits = 0n;
  for (let i = 0; i < 5; i++) bits = (bits << 8n) | BigInt(digest[i]!);
  let out = "";
  for (let i = 7; i >= 0; i--) out += alphabet[Number((bits >> BigInt(i * 5)) & 31n)];
  return out;
}

interface ServiceChains {
  service: KubeService;
  serviceChain: string;
  externalChain?: string;
  endpointChains: string[];
}

function chainsOf(service: KubeService): ServiceChains {
  const base = `${service.namespace}/${service.name}/tcp/http`;
  const endpointChains = service.endpoints.map((ep) => {
    const name = `${base}__${ep}/${TARGET_PORT}`;
    return `endpoint-${nameHash(name)}-${name}`;
  });
  const hash = nameHash(base);
  return {
    service,
    serviceChain: `service-${hash}-${base}`,
    ...(service.nodePort !== undefined ? { externalChain: `external-${hash}-${base}` } : {}),
    endpointChains,
  };
}

function addressBytes(address: string): number[] {
  return address.split(".").map(Number);
}

/** nft's listing order of concatenated keys: the key's bytes compared from the last one. */
function compareLittleEndian(a: number[], b: number[]): number {
  for (let i = a.length - 1; i >= 0; i--) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

function addressNumber(address: string): number {
  return addressBytes(address).reduce((n, b) => n * 256 + b, 0);
}

interface Element {
  text: string;
  key: number[];
}

const serviceIpKey = (address: string, port: number): number[] => [...addressBytes(address), TCP, port >> 8, port & 255];
const nodePortKey = (port: number): number[] => [TCP, port >> 8, port & 255];

/** A named set's `elements = { ... }` line as nft lists it, or nothing when it is empty. */
function elementsLine(elements: string[], perLine: number): string[] {
  if (elements.length === 0) return [];
  let text = "\t\telements = { ";
  elements.forEach((e, i) => {
    if (i > 0) text += i % perLine === 0 ? ",\n\t\t\t     " : ", ";
    text += e;
  });
  return [text + " }"];
}

interface SetDeclaration {
  kind: "set" | "map";
  name: string;
  type: string;
  comment: string;
  /** Elements in listing order, and how many nft puts on one line. */
  elements: string[];
  perLine: number;
}

interface ChainDeclaration {
  name: string;
  /** `type filter hook input priority 0` as kube-proxy writes it, and as nft 1.0.6 lists it. */
  hook?: { script: string; listed: string };
  comment?: string;
  /** Each rule as kube-proxy writes it and as nft lists it. */
  rules: Array<{ script: string; listed: string }>;
}

interface Ruleset {
  sets: SetDeclaration[];
  chains: ChainDeclaration[];
  /** `add element` lines of the script, in kube-proxy's order. */
  scriptElements: Array<{ set: string; element: string }>;
}

const same = (text: string) => ({ script: text, listed: text });

function build(opts: KubeNftOptions): Ruleset {
  const nodeIp = opts.nodeIp ?? "192.168.0.11";
  const serviceCidr = opts.serviceCidr ?? "10.96.0.0/12";
  const seenNodePorts = new Set<number>();
  const services: ServiceChains[] = [];
  for (let s = 0; s < opts.services; s++) {
    const svc = chainsOf(kubeService(s, opts));
    const np = svc.service.nodePort;
    // The iptables dump repeats NodePorts past 11,068 services; a verdict map cannot hold a
    // key twice (and a real cluster cannot give one port to two services).
    if (np !== undefined && seenNodePorts.has(np)) throw new Error(`NodePort ${np} repeats at service ${s}: at most 11068 services`);
    if (np !== undefined) seenNodePorts.add(np);
    services.push(svc);
  }

  const clusterIps = services.map((s) => s.service.clusterIp);
  const serviceIps: Element[] = services.map((s) => ({ text: `${s.service.clusterIp} . tcp . ${SERVICE_PORT} : goto ${s.serviceChain}`, key: serviceIpKey(s.service.clusterIp, SERVICE_PORT) }));
  const nodePorts: Element[] = services
    .filter((s) => s.externalChain)
    .map((s) => ({ text: `tcp . ${s.service.nodePort} : goto ${s.externalChain}`, key: nodePortKey(s.service.nodePort!) }));
  const listed = (elements: Element[]) => [...elements].sort((a, b) => compareLittleEndian(a.key, b.key)).map((e) => e.text);

  const sets: SetDeclaration[] = [
    { kind: "set", name: "cluster-ips", type: "ipv4_addr", comment: "Active ClusterIPs", elements: [...clusterIps].sort((a, b) => addressNumber(a) - addressNumber(b)), perLine: 2 },
    { kind: "set", name: "nodeport-ips", type: "ipv4_addr", comment: "IPs that accept NodePort traffic", elements: [nodeIp], perLine: 2 },
    { kind: "map", name: "firewall-ips", type: "ipv4_addr . inet_proto . inet_service : verdict", comment: "destinations that are subject to LoadBalancerSourceRanges", elements: [], perLine: 1 },
    { kind: "map", name: "no-endpoint-nodeports", type: "inet_proto . inet_service : verdict", comment: "vmap to drop or reject packets to service nodeports with no endpoints", elements: [], perLine: 1 },
    { kind: "map", name: "no-endpoint-services", type: "ipv4_addr . inet_proto . inet_service : verdict", comment: "vmap to drop or reject packets to services with no endpoints", elements: [], perLine: 1 },
    { kind: "map", name: "service-ips", type: "ipv4_addr . inet_proto . inet_service : verdict", comment: "ClusterIP, ExternalIP and LoadBalancer IP traffic", elements: listed(serviceIps), perLine: 1 },
    { kind: "map", name: "service-nodeports", type: "inet_proto . inet_service : verdict", comment: "NodePort traffic", elements: listed(nodePorts), perLine: 1 },
  ];

  const newState = (to: string) => same(`ct state new jump ${to}`);
  const chains: ChainDeclaration[] = [
    {
      name: "cluster-ips-check",
      rules: [
        same(`ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`),
        { script: `ip daddr { ${serviceCidr} } drop comment "Drop traffic to unallocated ClusterIPs"`, listed: `ip daddr ${serviceCidr} drop comment "Drop traffic to unallocated ClusterIPs"` },
      ],
    },
    { name: "filter-prerouting-pre-dnat", hook: { script: "type filter hook prerouting priority -110", listed: "type filter hook prerouting priority dstnat - 10; policy accept;" }, rules: [newState("firewall-check")] },
    { name: "filter-output-pre-dnat", hook: { script: "type filter hook output priority -110", listed: "type filter hook output priority -110; policy accept;" }, rules: [newState("firewall-check")] },
    { name: "filter-forward", hook: { script: "type filter hook forward priority 0", listed: "type filter hook forward priority filter; policy accept;" }, rules: [newState("service-endpoints-check"), newState("cluster-ips-check")] },
    { name: "filter-input", hook: { script: "type filter hook input priority 0", listed: "type filter hook input priority filter; policy accept;" }, rules: [newState("nodeport-endpoints-check"), newState("service-endpoints-check")] },
    { name: "filter-output", hook: { script: "type filter hook output priority 0", listed: "type filter hook output priority filter; policy accept;" }, rules: [newState("service-endpoints-check"), newState("cluster-ips-check")] },
    { name: "firewall-check", rules: [same("ip daddr . meta l4proto . th dport vmap @firewall-ips")] },
    { name: "mark-for-masquerade", rules: [{ script: "mark set mark or 0x4000", listed: `meta mark set meta mark | ${MASQ_MARK}` }] },
    {
      name: "masquerading",
      rules: [
        { script: "mark and 0x4000 == 0 return", listed: `meta mark & ${MASQ_MARK} == 0x00000000 return` },
        { script: "mark set mark xor 0x4000", listed: `meta mark set meta mark ^ ${MASQ_MARK}` },
        same("masquerade fully-random"),
      ],
    },
    { name: "nat-output", hook: { script: "type nat hook output priority -100", listed: "type nat hook output priority -100; policy accept;" }, rules: [same("jump services")] },
    { name: "nat-postrouting", hook: { script: "type nat hook postrouting priority 100", listed: "type nat hook postrouting priority srcnat; policy accept;" }, rules: [same("jump masquerading")] },
    { name: "nat-prerouting", hook: { script: "type nat hook prerouting priority -100", listed: "type nat hook prerouting priority dstnat; policy accept;" }, rules: [same("jump services")] },
    { name: "nodeport-endpoints-check", rules: [same("ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports")] },
    { name: "reject-chain", comment: "helper for @no-endpoint-services / @no-endpoint-nodeports", rules: [same("reject")] },
    { name: "services", rules: [same("ip daddr . meta l4proto . th dport vmap @service-ips"), same("ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports")] },
    { name: "service-endpoints-check", rules: [same("ip daddr . meta l4proto . th dport vmap @no-endpoint-services")] },
  ];

  const scriptElements: Ruleset["scriptElements"] = [{ set: "nodeport-ips", element: nodeIp }];
  for (const s of services) {
    // kube-proxy makes a service's endpoint chains first, then its service and external chains.
    s.endpointChains.forEach((name, e) => {
      const ep = s.service.endpoints[e]!;
      chains.push({ name, rules: [same(`ip saddr ${ep} jump mark-for-masquerade`), same(`meta l4proto tcp dnat to ${ep}:${TARGET_PORT}`)] });
    });
    const vmap = s.endpointChains.map((c, i) => `${i} : goto ${c}`);
    chains.push({
      name: s.serviceChain,
      rules: [
        same(`ip daddr ${s.service.clusterIp} ip saddr != ${KUBE_POD_CIDR} jump mark-for-masquerade`),
        { script: `numgen random mod ${vmap.length} vmap { ${vmap.join(" , ")} }`, listed: `numgen random mod ${vmap.length} vmap { ${vmap.join(", ")} }` },
      ],
    });
    if (s.externalChain) chains.push({ name: s.externalChain, rules: [same("jump mark-for-masquerade"), same(`goto ${s.serviceChain}`)] });
    scriptElements.push({ set: "cluster-ips", element: s.service.clusterIp });
    scriptElements.push({ set: "service-ips", element: `${s.service.clusterIp} . tcp . ${SERVICE_PORT} : goto ${s.serviceChain}` });
    if (s.externalChain) scriptElements.push({ set: "service-nodeports", element: `tcp . ${s.service.nodePort} : goto ${s.externalChain}` });
  }
  return { sets, chains, scriptElements };
}

/** `nft list ruleset` of a kube-proxy (nftables mode) node of `opts.services` services, as nft 1.0.6 prints it. */
export function kubeNftDump(opts: KubeNftOptions): string {
  const { sets, chains } = build(opts);
  const blocks: string[] = [];
  for (const set of sets) {
    blocks.push([`\t${set.kind} ${set.name} {`, `\t\ttype ${set.type}`, `\t\tcomment "${set.comment}"`, ...elementsLine(set.elements, set.perLine), "\t}"].join("\n"));
  }
  for (const chain of chains) {
    const lines = [`\tchain ${chain.name} {`];
    if (chain.hook) lines.push(`\t\t${chain.hook.listed}`);
    if (chain.comment) lines.push(`\t\tcomment "${chain.comment}"`);
    for (const r of chain.rules) lines.push(`\t\t${r.listed}`);
    lines.push("\t}");
    blocks.push(lines.join("\n"));
  }
  return `table ip kube-proxy {\n\tcomment "rules for kube-proxy"\n${blocks.join("\n\n")}\n}\n`;
}

/**
 * The same ruleset as the `nft -f` transaction kube-proxy sends (knftables' `add` lines):
 * loading it into an empty namespace and listing gives `kubeNftDump` byte for byte.
 */
export function kubeNftScript(opts: KubeNftOptions): string {
  const { sets, chains, scriptElements } = build(opts);
  const t = "ip kube-proxy";
  const out = [`add table ${t} { comment "rules for kube-proxy" ; }`];
  for (const set of sets) out.push(`add ${set.kind} ${t} ${set.name} { type ${set.type} ; comment "${set.comment}" ; }`);
  for (const c of chains) {
    const body = [c.hook ? `${c.hook.script} ;` : "", c.comment ? `comment "${c.comment}" ;` : ""].filter(Boolean).join(" ");
    out.push(`add chain ${t} ${c.name}${body ? ` { ${body} }` : ""}`);
  }
  for (const c of chains) for (const r of c.rules) out.push(`add rule ${t} ${c.name} ${r.script}`);
  for (const e of scriptElements) out.push(`add element ${t} ${e.set} { ${e.element} }`);
  return out.join("\n") + "\n";
}
