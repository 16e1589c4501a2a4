/**
 * The tunnel facts readers against real iproute2 6.1 output (test/fixtures/tunnels, made by its
 * make-tunnels.sh in a network namespace), WireGuard's dump against hand-written examples in
 * the format of wg(8) and wireguard-tools' show.c dump_print (this kernel has no wireguard),
 * and node.json's tunnel keys.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import fc from "fast-check";
import { detectFactsFormat, factsFromTexts, readFacts } from "../../src/facts/parse.js";
import { emptyFacts } from "../../src/facts/model.js";
import { DiagnosticSink } from "../../src/model/diagnostics.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { KEY_A, KEY_B, KEY_C, WG_DUMP } from "../support/tunnel-fixtures.js";

const fx = (f: string) => ({ file: f, text: readFileSync(resolve(import.meta.dirname, "../fixtures/tunnels", f), "utf8") });

function read(text: string, file = "x") {
  const facts = emptyFacts();
  const sink = new DiagnosticSink(file);
  readFacts(text, file, facts, sink);
  return { facts, diagnostics: sink.items };
}

describe("VXLAN devices from ip -d link (real iproute2 output)", () => {
  for (const files of [["ip-d-link.txt"], ["ip-d-link.json"]]) {
    it(files[0]!, () => {
      const { facts, diagnostics } = factsFromTexts(files.map(fx));
      expect(diagnostics).toEqual([]);
      const t = (n: string) => facts.interfaces.find((i) => i.name === n)?.tunnel;
      expect(t("flannel.1")).toEqual({ kind: "vxlan", vni: 1, port: 8472, local: "172.16.100.101", dev: "eth0" });
      expect(t("vx2")).toEqual({ kind: "vxlan", vni: 2, port: 8472, local: "172.16.100.101", dev: "eth0" });
      expect(t("vxlan.calico")).toEqual({ kind: "vxlan", vni: 4096, port: 4789, local: "172.16.100.101", dev: "eth0" });
      expect(t("vxr")).toEqual({ kind: "vxlan", vni: 7, port: 8472, remote: "172.16.100.106", dev: "eth0" });
      expect(t("vx6")).toEqual({ kind: "vxlan", vni: 10, port: 4789, local: "2001:db8::11", dev: "eth0" });
      // `external id 0`: no VNI of its own.
      expect(t("cilium_vxlan")).toEqual({ kind: "vxlan", external: true, port: 8473 });
      // A TUN device is not a tunnel by itself: flanneld's use of it is node.json's to say.
      expect(t("flannel0")).toBeUndefined();
      expect(facts.interfaces.find((i) => i.name === "flannel0")?.kind).toBe(files[0]!.endsWith(".json") ? "tun" : undefined);
      expect(facts.interfaces.filter((i) => i.up === false).map((i) => i.name)).toEqual(["vxr", "flannel0"]);
    });
  }
});

describe("IPIP devices from ip -d link (hand-written: this kernel has no ipip module; the shape is iproute2's link_iptnl.c and tnl_print_endpoint)", () => {
  const TEXT = [
    "7: tunl0@NONE: <NOARP,UP,LOWER_UP> mtu 1480 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000",
    "    link/ipip 0.0.0.0 brd 0.0.0.0 promiscuity 0  allmulti 0 minmtu 0 maxmtu 0 ",
    "    ipip ipip remote any local any ttl inherit nopmtudisc addrgenmode eui64 numtxqueues 1 numrxqueues 1 gso_max_size 65536 gso_max_segs 65535 ",
    "8: ipip1@eth0: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1480 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000",
    "    link/ipip 192.168.1.12 peer 192.168.1.20 promiscuity 0  allmulti 0 minmtu 0 maxmtu 0 ",
    "    ipip ipip remote 192.168.1.20 local 192.168.1.12 dev eth0 ttl inherit pmtudisc addrgenmode eui64 numtxqueues 1 numrxqueues 1 ",
    "",
  ].join("\n");
  const JSON_TEXT = JSON.stringify([
    { ifname: "tunl0", flags: ["NOARP", "UP", "LOWER_UP"], link_type: "ipip", address: "0.0.0.0", linkinfo: { info_kind: "ipip", info_data: { proto: "ipip", remote: "any", local: "any", ttl: 0, pmtudisc: false } } },
    { ifname: "ipip1", flags: ["POINTOPOINT", "NOARP", "UP", "LOWER_UP"], link_type: "ipip", address: "192.168.1.12", link_pointtopoint: true, broadcast: "192.168.1.20", linkinfo: { info_kind: "ipip", info_data: { proto: "ipip", remote: "192.168.1.20", local: "192.168.1.12", link: "eth0", ttl: 0, pmtudisc: true } } },
  ]);
  for (const [name, text] of [["text", TEXT], ["JSON", JSON_TEXT]]) {
    it(name, () => {
      const { facts, diagnostics } = read(text!);
      expect(diagnostics).toEqual([]);
      expect(facts.interfaces.map((i) => [i.name, i.kind, i.up, i.tunnel])).toEqual([
        ["tunl0", "ipip", true, { kind: "ipip" }],
        ["ipip1", "ipip", true, { kind: "ipip", remote: "192.168.1.20", local: "192.168.1.12" }],
      ]);
    });
  }
  it("an endpoint ip could not print is an error, not `any`", () => {
    expect(read("7: t1: <NOARP,UP> mtu 1480\n    ipip ipip remote unknown local any ttl inherit\n").diagnostics).toEqual([expect.objectContaining({ line: 2, col: 22, message: "bad ipip remote address" })]);
  });
});

describe("bridge fdb and ip neigh (real iproute2 output)", () => {
  for (const file of ["bridge-fdb.txt", "bridge-fdb.json"]) {
    it(file, () => {
      expect(detectFactsFormat(fx(file).text)).toBe(file.endsWith(".json") ? "bridge-fdb-json" : "bridge-fdb");
      const { facts, diagnostics } = read(fx(file).text, file);
      expect(diagnostics).toEqual([]);
      // Entries without a remote (the veths' own multicast addresses) are not tunnel facts.
      expect(facts.fdb).toEqual([
        { dev: "flannel.1", mac: "7a:10:55:c2:9e:02", dst: "172.16.100.100" },
        { dev: "flannel.1", mac: "b6:72:1b:43:5e:01", dst: "172.16.100.102" },
        { dev: "vxlan.calico", mac: "00:00:00:00:00:00", dst: "172.16.100.103" },
        { dev: "vxlan.calico", mac: "00:00:00:00:00:00", dst: "172.16.100.104" },
        { dev: "vxlan.calico", mac: "00:00:00:00:00:00", dst: "172.16.100.105", port: 4790, vni: 5, via: "eth0" },
        { dev: "vxr", mac: "00:00:00:00:00:00", dst: "172.16.100.106", via: "eth0" },
        { dev: "vx6", mac: "00:00:00:00:00:00", dst: "2001:db8::12" },
      ]);
    });
  }
  for (const file of ["ip-neigh.txt", "ip-neigh.json"]) {
    it(file, () => {
      expect(detectFactsFormat(fx(file).text)).toBe(file.endsWith(".json") ? "ip-neigh-json" : "ip-neigh");
      const { facts, diagnostics } = read(fx(file).text, file);
      expect(diagnostics).toEqual([]);
      const n = facts.neighbours!;
      expect(n).toHaveLength(9);
      expect(n).toContainEqual({ dev: "flannel.1", address: "10.244.2.0", family: "ipv4", lladdr: "b6:72:1b:43:5e:01", state: ["PERMANENT"] });
      expect(n).toContainEqual({ dev: "flannel.1", address: "10.244.3.0", family: "ipv4", lladdr: "02:00:00:00:00:03", state: ["STALE"] });
      expect(n).toContainEqual({ dev: "eth0", address: "172.16.100.103", family: "ipv4", state: ["INCOMPLETE"] });
      expect(n).toContainEqual({ dev: "eth0", address: "2001:db8::1", family: "ipv6", lladdr: "02:00:00:00:00:61", state: ["PERMANENT"] });
    });
  }
  it("ip route text is still ip route, not a neighbour table", () => {
    expect(detectFactsFormat("10.244.2.0 dev flannel.1 scope link\n")).toBe("ip-route");
    expect(detectFactsFormat("default via 192.168.0.1 dev eth0\n")).toBe("ip-route");
  });
  it("bad entries are located", () => {
    expect(read("b6:72:1b:43:5e:01 dev flannel.1 dst 172.16.100.999 self permanent\n").diagnostics).toEqual([
      expect.objectContaining({ line: 1, col: 37, message: 'bad FDB dst "172.16.100.999"' }),
    ]);
    expect(read("b6:72:1b:43:5e:01 dev flannel.1 dst 10.0.0.1 port 70000\n").diagnostics).toEqual([expect.objectContaining({ line: 1, col: 51, message: 'bad FDB port "70000"' })]);
    expect(read("b6:72:1b:43:5e:01 dev flannel.1 dst\n").diagnostics).toEqual([expect.objectContaining({ line: 1, col: 33, message: '"dst" without its value in an FDB entry' })]);
    expect(read("10.244.2.0 dev flannel.1 lladdr zz:72 PERMANENT\n").diagnostics).toEqual([expect.objectContaining({ line: 1, col: 33, message: 'bad link address "zz:72" of neighbour 10.244.2.0' })]);
    expect(read('[{"dst": "10.244.2.0", "dev": "flannel.1", "lladdr": 5, "state": ["PERMANENT"]}]').diagnostics).toEqual([expect.objectContaining({ line: 1, col: 54 })]);
    expect(read('[{"mac": "b6:72:1b:43:5e:01", "ifname": "flannel.1", "dst": "x"}]').diagnostics).toEqual([expect.objectContaining({ line: 1, col: 61, message: 'bad FDB dst "x"' })]);
  });
  it("an empty table read as what it is says none (a bundle knows its files)", () => {
    const facts = emptyFacts();
    const sink = new DiagnosticSink("ip-neigh.json");
    readFacts("[]\n", "ip-neigh.json", facts, sink, "ip-neigh-json");
    readFacts("[]\n", "bridge-fdb.json", facts, sink, "bridge-fdb-json");
    readFacts("", "wg-dump.txt", facts, sink, "wg-dump");
    expect(sink.items).toEqual([]);
    expect(facts).toMatchObject({ neighbours: [], fdb: [] });
  });
});

describe("wg show all dump (real: wg with two wireguard-go devices, private keys hidden as collect writes them)", () => {
  it("reads the devices and peers; a userspace device's link kind stays tun", () => {
    const link = '[{"ifname": "wgA", "flags": ["POINTOPOINT", "MULTICAST", "NOARP", "UP", "LOWER_UP"], "link_type": "none", "linkinfo": {"info_kind": "tun", "info_data": {"type": "tun", "pi": true}}}]';
    const { facts, diagnostics } = factsFromTexts([{ file: "ip-link.json", text: link }, fx("wg-dump.txt")]);
    expect(diagnostics).toEqual([]);
    const wgA = facts.interfaces.find((i) => i.name === "wgA")!;
    expect(wgA.kind).toBe("tun");
    expect(wgA.tunnel).toEqual({
      kind: "wireguard", port: 51820, fwmark: 0xca6c,
      wireguardPeers: [{ publicKey: "3g3hTXuSk6gj+xLMOLskCArYScWftJ8SOBfVIFWt8So=", endpoint: { address: "192.168.1.12", port: 51821 }, allowedIps: [{ address: "10.0.0.2", prefixLength: 32, family: "ipv4" }, { address: "10.244.2.0", prefixLength: 24, family: "ipv4" }] }],
    });
    expect(facts.interfaces.find((i) => i.name === "wgB")!.tunnel).toMatchObject({ kind: "wireguard", port: 51821, fwmark: 0, wireguardPeers: [{ endpoint: { address: "192.168.1.11", port: 51820 } }] });
  });
});

describe("wg show all dump (hand-written, in wg(8)'s format)", () => {
  it("devices, listen ports, fwmarks and peers", () => {
    expect(detectFactsFormat(WG_DUMP)).toBe("wg-dump");
    const { facts, diagnostics } = read(WG_DUMP);
    expect(diagnostics).toEqual([]);
    const wg0 = facts.interfaces.find((i) => i.name === "wg0")!;
    expect(wg0.kind).toBe("wireguard");
    expect(wg0.tunnel).toEqual({
      kind: "wireguard", port: 51820, fwmark: 0xca6c,
      wireguardPeers: [
        { publicKey: KEY_B, endpoint: { address: "192.168.1.11", port: 51820 }, allowedIps: [{ address: "10.0.0.2", prefixLength: 32, family: "ipv4" }, { address: "10.244.2.0", prefixLength: 24, family: "ipv4" }] },
        { publicKey: KEY_C, endpoint: { address: "2001:db8::13", port: 51821 }, allowedIps: [{ address: "10.0.0.3", prefixLength: 32, family: "ipv4" }, { address: "fd00::3", prefixLength: 128, family: "ipv6" }] },
      ],
    });
    // Listen port 0 (a device that is down has no socket), a peer with no endpoint and no allowed IPs.
    expect(facts.interfaces.find((i) => i.name === "wg1")!.tunnel).toEqual({ kind: "wireguard", fwmark: 0, wireguardPeers: [{ publicKey: KEY_A, allowedIps: [] }] });
  });
  it("the link's kind from ip -d link and the dump merge, in either order", () => {
    const link = '[{"ifname": "wg0", "link_type": "none", "linkinfo": {"info_kind": "wireguard"}}]';
    for (const order of [[link, WG_DUMP], [WG_DUMP, link]]) {
      const { facts, diagnostics } = factsFromTexts(order.map((text, k) => ({ file: `f${k}`, text })));
      expect(diagnostics).toEqual([]);
      expect(facts.interfaces.find((i) => i.name === "wg0")!.tunnel).toMatchObject({ kind: "wireguard", port: 51820, wireguardPeers: [{}, {}] });
    }
  });
  it("bad lines are located and name what was expected", () => {
    const bad = (line: string) => read(`wg0\t(none)\t${KEY_A}\t51820\toff\n${line}\n`).diagnostics;
    expect(bad(`wg0\t${KEY_B}\t(none)\t192.168.1.11\t10.0.0.2/32\t0\t0\t0\toff`)).toEqual([expect.objectContaining({ line: 2, col: 57, message: "bad endpoint", expected: "ADDR:PORT or [IPv6]:PORT" })]);
    expect(bad(`wg0\t${KEY_B}\t(none)\t(none)\t10.0.0.300/32\t0\t0\t0\toff`)).toEqual([expect.objectContaining({ line: 2, col: 64 })]);
    expect(bad(`wg0\tnotakey\t(none)\t(none)\t(none)\t0\t0\t0\toff`)).toEqual([expect.objectContaining({ line: 2, col: 5, message: "not a WireGuard key" })]);
    expect(bad(`wg0\t${KEY_B}\t(none)`)).toEqual([expect.objectContaining({ line: 2, col: 1, message: "a wg dump line with 3 tab-separated fields" })]);
    expect(read(`wg9\t${KEY_B}\t(none)\t(none)\t(none)\t0\t0\t0\toff\n`).diagnostics).toEqual([expect.objectContaining({ message: "a peer of wg9 before wg9's own line" })]);
    expect(read(`wg0\t(none)\t(none)\t70000\toff\n`, "wg").diagnostics).toEqual([expect.objectContaining({ col: 19, message: "bad listen port" })]);
  });
});

describe("node.json tunnel keys", () => {
  it("udp, wireguard, and the vxlan and ipip additions", () => {
    const { facts, diagnostics } = read(JSON.stringify({
      interfaces: [
        { name: "flannel0", kind: "tun", addrs: ["10.1.9.0/16"], udp: { port: 8285, local: "192.168.1.12", peers: { "10.1.63.0/24": "192.168.1.11" } } },
        { name: "wg0", wireguard: { listenPort: 51820, fwmark: "0xca6c", peers: [{ publicKey: KEY_B, endpoint: "192.168.1.11:51820", allowedIps: ["10.0.0.2/32"] }] } },
        { name: "flannel.1", kind: "vxlan", vxlan: { port: 8472, vni: 1, local: "172.16.100.101", dev: "eth0", peers: { "10.244.2.0": "172.16.100.102" }, flood: ["172.16.100.103"] } },
        { name: "tunl0", ipip: { local: "any", remote: "any" } },
        { name: "ipip1", ipip: { local: "192.168.1.12", remote: "192.168.1.20" } },
      ],
    }));
    expect(diagnostics).toEqual([]);
    const t = (n: string) => facts.interfaces.find((i) => i.name === n)?.tunnel;
    expect(t("flannel0")).toEqual({ kind: "udp", port: 8285, local: "192.168.1.12", peers: { "10.1.63.0/24": "192.168.1.11" } });
    expect(t("wg0")).toEqual({ kind: "wireguard", port: 51820, fwmark: 0xca6c, wireguardPeers: [{ publicKey: KEY_B, endpoint: { address: "192.168.1.11", port: 51820 }, allowedIps: [{ address: "10.0.0.2", prefixLength: 32, family: "ipv4" }] }] });
    expect(t("flannel.1")).toEqual({ kind: "vxlan", port: 8472, vni: 1, local: "172.16.100.101", dev: "eth0", peers: { "10.244.2.0": "172.16.100.102" }, flood: ["172.16.100.103"] });
    expect(t("tunl0")).toEqual({ kind: "ipip" });
    expect(t("ipip1")).toEqual({ kind: "ipip", local: "192.168.1.12", remote: "192.168.1.20" });
  });
  it("the existing shapes read as before", () => {
    const { facts, diagnostics } = read('{"interfaces": [{"name": "flannel.1", "kind": "vxlan", "vxlan": {"port": 8472, "peers": {"10.244.2.0": "172.16.100.102"}}}, {"name": "tunl0", "ipip": true}, {"name": "t1", "kind": "ipip"}]}');
    expect(diagnostics).toEqual([]);
    expect(facts.interfaces.map((i) => i.tunnel)).toEqual([{ kind: "vxlan", port: 8472, peers: { "10.244.2.0": "172.16.100.102" } }, { kind: "ipip" }, { kind: "ipip" }]);
  });
  it("a tunnel key on a link of another kind, or two of them, is an error and no tunnel", () => {
    for (const [json, message] of [
      ['{"interfaces": [{"name": "f", "kind": "vxlan", "udp": {}}]}', /f is of kind vxlan but has "udp" settings/],
      ['{"interfaces": [{"name": "f", "kind": "vxlan", "wireguard": {}}]}', /f is of kind vxlan but has "wireguard" settings/],
      ['{"interfaces": [{"name": "f", "udp": {}, "wireguard": {}}]}', /f has both "udp" and "wireguard" settings/],
    ] as const) {
      const { facts, diagnostics } = read(json);
      expect(diagnostics).toEqual([expect.objectContaining({ message: expect.stringMatching(message) })]);
      expect(facts.interfaces[0]!.tunnel).toBeUndefined();
    }
  });
  it("bad values are located", () => {
    const { diagnostics } = read('{"interfaces": [{"name": "f", "udp": {"peers": {"10.1.63.0/33": "192.168.1.11", "10.1.64.0/24": "x"}}}, {"name": "w", "wireguard": {"fwmark": "mark", "peers": [{"endpoint": "1.2.3.4:5"}, {"publicKey": "k", "endpoint": "1.2.3.4", "allowedIps": ["10.0.0.0"]}]}}]}');
    expect(diagnostics.map((d) => [d.col, d.message])).toEqual([
      [49, 'udp peer "10.1.63.0/33" of f: prefix length "33" of 10.1.63.0 is not 0-32'],
      [97, 'udp peer 10.1.64.0/24 of f "x" is not an address'],
      [143, 'wireguard fwmark of w: found the string "mark"'],
      [161, 'a wireguard peer of w without "publicKey"'],
      [219, 'bad endpoint "1.2.3.4" of wireguard peer k'],
      [245, 'bad allowed IP "10.0.0.0": no prefix length'],
    ]);
  });
});

describe("readers never throw", () => {
  it("on any JSON under node.json's tunnel keys, and the view of what was read answers", () => {
    const key = fc.constantFrom("vxlan", "ipip", "udp", "wireguard");
    const inner = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ port: fc.jsonValue(), peers: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.array(fc.record({ publicKey: fc.string(), endpoint: fc.constantFrom("1.2.3.4:5", "[::1]:70000", "x"), allowedIps: fc.array(fc.constantFrom("10.0.0.0/8", "::/0", "1.2.3.4", "bad")) }))), local: fc.constantFrom("1.2.3.4", "any", 5), vni: fc.jsonValue(), flood: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }));
    fc.assert(fc.property(key, inner, fc.constantFrom(undefined, "vxlan", "tun", "wireguard", "ipip"), (k, value, kind) => {
      const { facts, diagnostics } = read(JSON.stringify({ interfaces: [{ name: "t0", addrs: ["10.0.0.1/24"], ...(kind ? { kind } : {}), [k]: value }] }));
      for (const d of diagnostics) expect(d.line).toBeGreaterThanOrEqual(1);
      const v = nodeViewFromFacts(facts);
      const t = v.tunnel("t0");
      t?.outerPackets?.("10.0.0.2", "10.1.2.3");
      t?.acceptsInner?.("10.1.2.3", "1.2.3.4");
      v.decapsulator!({ family: "ipv4", proto: 17, dst: "10.0.0.1", dport: 8472 });
    }), { numRuns: 300 });
  });
  it("on random lines in each tunnel format", () => {
    const line = fc.array(fc.oneof(fc.constantFrom("dev", "dst", "lladdr", "port", "vni", "via", "PERMANENT", "00:00:00:00:00:00", "10.0.0.1", "\t", "(none)", "off", "0x1", KEY_A, "1.2.3.4:5", "[::1]:5", "10.0.0.0/8,::/0"), fc.string({ maxLength: 8 })), { maxLength: 12 }).map((w) => w.join(" "));
    fc.assert(fc.property(fc.array(line, { maxLength: 5 }), fc.constantFrom("bridge-fdb", "ip-neigh", "wg-dump") as fc.Arbitrary<"bridge-fdb" | "ip-neigh" | "wg-dump">, (lines, format) => {
      const facts = emptyFacts();
      const sink = new DiagnosticSink("x");
      readFacts(lines.join("\n"), "x", facts, sink, format);
      for (const d of sink.items) expect(d.line).toBeGreaterThanOrEqual(1);
    }), { numRuns: 300 });
  });
});
