import { describe, expect, it } from "vitest";
import { DiagnosticSink } from "../../src/model/diagnostics.js";
import { emptyFacts } from "../../src/facts/model.js";
import { readFacts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";
import { parseRouteLine } from "../../src/facts/route-line.js";

function view(json: object) {
  const facts = emptyFacts();
  const sink = new DiagnosticSink("node.json");
  readFacts(JSON.stringify(json), "node.json", facts, sink);
  expect(sink.items).toEqual([]);
  return nodeViewFromFacts(facts);
}

describe("ip route lines", () => {
  it("reads Calico and flannel routes", () => {
    expect(parseRouteLine("10.244.146.192/26 via 192.168.100.112 dev tunl0 proto bird onlink")).toMatchObject({ ok: true, route: { dst: "10.244.146.192", prefixLength: 26, gateway: "192.168.100.112", dev: "tunl0", onlink: true, proto: "bird" } });
    expect(parseRouteLine("blackhole 10.244.153.192/26 proto bird")).toMatchObject({ ok: true, route: { type: "blackhole", prefixLength: 26 } });
    expect(parseRouteLine("local 10.0.0.1 dev eth0 table local proto kernel scope host src 10.0.0.1")).toMatchObject({ ok: true, route: { type: "local", table: "local" } });
    expect(parseRouteLine("10.0.0.0/8 dve eth0")).toMatchObject({ ok: false, col: 12 });
  });
});

describe("routing from node facts", () => {
  const n = view({
    interfaces: [
      { name: "eth0", addrs: ["192.168.0.11/24"] },
      { name: "docker0", addrs: ["172.17.0.1/16"] },
      { name: "flannel.1", addrs: ["10.244.0.0/32"], kind: "vxlan", vxlan: { port: 8472, peers: { "10.244.2.0": "172.16.100.102" } } },
      { name: "tunl0", addrs: ["10.244.153.192/32"], kind: "ipip" },
    ],
    routes: ["default via 192.168.0.1 dev eth0", "10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink", "blackhole 10.244.153.192/26 proto bird", "10.244.146.192/26 via 192.168.100.112 dev tunl0 proto bird onlink"],
    sysctl: { "net.ipv4.ip_forward": 1 },
  });
  it("local addresses are local, including 127/8", () => {
    expect(n.routeInput({ dst: "192.168.0.11", family: "ipv4", iif: "eth0", mark: 0, src: "1.2.3.4" })).toMatchObject({ kind: "local" });
    expect(n.addressType("127.0.0.5", "ipv4")).toBe("LOCAL");
    expect(n.addressType("172.17.255.255", "ipv4")).toBe("BROADCAST");
    expect(n.addressType("8.8.8.8", "ipv4")).toBe("UNICAST");
  });
  it("longest prefix wins; blackholes are blackholes", () => {
    expect(n.routeOutput({ dst: "10.244.2.14", family: "ipv4", mark: 0 })).toMatchObject({ kind: "unicast", dev: "flannel.1", gateway: "10.244.2.0", onlink: true, src: "10.244.0.0" });
    expect(n.routeOutput({ dst: "10.244.153.201", family: "ipv4", mark: 0 })).toMatchObject({ kind: "blackhole" });
    expect(n.routeOutput({ dst: "172.17.0.4", family: "ipv4", mark: 0 })).toMatchObject({ kind: "unicast", dev: "docker0", src: "172.17.0.1" });
    expect(n.routeOutput({ dst: "1.1.1.1", family: "ipv4", mark: 0 })).toMatchObject({ kind: "unicast", dev: "eth0", gateway: "192.168.0.1", src: "192.168.0.11" });
  });
  it("tunnels say where the outer packet goes", () => {
    expect(n.tunnel("flannel.1")?.outerDestination("10.244.2.0", "10.244.2.14")).toBe("172.16.100.102");
    expect(n.tunnel("tunl0")?.outerDestination("192.168.100.112", "10.244.146.205")).toBe("192.168.100.112");
    expect(n.forwarding("ipv4")).toBe(true);
  });
});

describe("addresses NAT targets pick", () => {
  const v = view({ interfaces: [
    { name: "lo", addrs: ["127.0.0.1/8"] },
    { name: "eth0", addrs: ["192.168.0.11/24", "192.168.1.11/24"] },
    { name: "cni0", addrs: ["10.244.0.1/24"] },
    { name: "tunl0", addrs: [] },
  ] });
  it("MASQUERADE: a global address of the device, the one in the nexthop's subnet first", () => {
    expect(v.masqueradeAddress("eth0", "ipv4")).toBe("192.168.0.11");
    expect(v.masqueradeAddress("eth0", "ipv4", "192.168.1.1")).toBe("192.168.1.11");
    expect(v.masqueradeAddress("cni0", "ipv4", "10.244.0.9")).toBe("10.244.0.1");
  });
  it("MASQUERADE on lo or an address-less device takes the first global address of any interface (measured: kernel says ACCEPT on lo)", () => {
    expect(v.masqueradeAddress("lo", "ipv4")).toBe("192.168.0.11");
    expect(v.masqueradeAddress("tunl0", "ipv4")).toBe("192.168.0.11");
    expect(v.masqueradeAddress("eth0", "ipv6")).toBeUndefined();
  });
  it("REDIRECT: the device's first address, whatever its scope", () => {
    expect(v.primaryAddress("lo", "ipv4")).toBe("127.0.0.1");
    expect(v.primaryAddress("tunl0", "ipv4")).toBeUndefined();
  });
});

describe("IPv6 routing from node facts (found by the IPv6 kernel differential)", () => {
  const v = view({ interfaces: [{ name: "eth0", addrs: ["fd00:1::11/64"] }, { name: "cni0", addrs: ["fd00:244::1/64"] }], routes: ["default via fd00:1::1 dev eth0"] });
  it("an address's network is a connected route, not just the address", () => {
    expect(v.routeInput({ dst: "fd00:244::20", family: "ipv6", iif: "eth0", mark: 0, src: "2001:db8::7" })).toMatchObject({ kind: "unicast", dev: "cni0" });
    expect(v.routeOutput({ dst: "fd00:1::50", family: "ipv6", mark: 0 })).toMatchObject({ kind: "unicast", dev: "eth0", src: "fd00:1::11" });
  });
  it("`default via <IPv6 gateway>` is the IPv6 default route", () => {
    expect(v.routeInput({ dst: "2001:db8::7", family: "ipv6", iif: "cni0", mark: 0, src: "fd00:244::9" })).toMatchObject({ kind: "unicast", dev: "eth0", gateway: "fd00:1::1" });
    expect(parseRouteLine("default via fe80::1 dev eth0 proto ra metric 1024")).toMatchObject({ ok: true, route: { family: "ipv6", dst: "::", prefixLength: 0, gateway: "fe80::1" } });
  });
});

describe("IPv6 multicast sent by the node (the kernel's ff00::/8 route of each device, table local)", () => {
  const send = (json: object, dst = "ff02::1") => view(json).routeOutput({ dst, family: "ipv6", src: "fe80::1", mark: 0, proto: 17 });
  const give = "ip -6 -j route show table local";
  it("leaves by the one device with IPv6", () => {
    const facts = { interfaces: [{ name: "lo", addrs: ["127.0.0.1/8", "::1/128"] }, { name: "eth0", addrs: ["192.168.0.11/24", "fe80::1/64"] }, { name: "eth1", addrs: ["10.0.0.1/24"] }] };
    expect(send(facts)).toMatchObject({ kind: "unicast", dev: "eth0", chosenBy: "table local: multicast ff00::/8 dev eth0 metric 256" });
    expect(send(facts, "ff05::fb")).toMatchObject({ kind: "unicast", dev: "eth0" });
  });
  it("with several devices, which one leaves first is the order they came up: not known, and said", () => {
    const d = send({ interfaces: [{ name: "eth0", addrs: ["fe80::1/64"] }, { name: "eth1", addrs: ["fe80::2/64"] }] });
    expect(d).toMatchObject({ kind: "indeterminate" });
    expect(d.kind === "indeterminate" && d.reason).toBe(`ff02::1 leaves by the first of the multicast routes (ff00::/8, table local) of eth0, eth1; their order is the order the devices came up, which the node facts do not give (give \`${give}\`)`);
  });
  it("with no device showing IPv6, says so", () => {
    const d = send({ interfaces: [{ name: "eth0", addrs: ["192.168.0.11/24"] }] });
    expect(d.kind === "indeterminate" && d.reason).toBe(`ff02::1 leaves by a device's multicast route (ff00::/8, table local), and no device in the node facts has IPv6 (give \`${give}\`)`);
  });
  it("a dumped local table orders them: the first listed wins, whatever the interfaces' order", () => {
    const routes = ["multicast ff00::/8 dev eth1 table local proto kernel metric 256 pref medium", "multicast ff00::/8 dev eth0 table local proto kernel metric 256 pref medium"];
    expect(send({ interfaces: [{ name: "eth0", addrs: ["fe80::1/64"] }, { name: "eth1", addrs: ["fe80::2/64"] }], routes })).toMatchObject({ kind: "unicast", dev: "eth1" });
  });
  it("a device that is down has no multicast route", () => {
    const facts = emptyFacts();
    facts.interfaces.push({ name: "eth0", addrs: [{ address: "fe80::1", prefixLength: 64, family: "ipv6" }], up: false });
    facts.interfaces.push({ name: "eth1", addrs: [{ address: "fe80::2", prefixLength: 64, family: "ipv6" }], up: true });
    expect(nodeViewFromFacts(facts).routeOutput({ dst: "ff02::fb", family: "ipv6", mark: 0 })).toMatchObject({ kind: "unicast", dev: "eth1" });
  });
  it("an arriving multicast packet is looked up with its own device's route", () => {
    const v = view({ interfaces: [{ name: "eth0", addrs: ["fe80::1/64"] }, { name: "eth1", addrs: ["fe80::2/64"] }], sysctl: { "net.ipv6.conf.all.forwarding": 1 } });
    expect(v.routeInput({ dst: "ff02::1", family: "ipv6", iif: "eth1", mark: 0, src: "fe80::9" })).toMatchObject({ chosenBy: "table local: multicast ff00::/8 dev eth1 metric 256" });
  });
});
