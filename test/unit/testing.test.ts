/** netfate/testing: the packet arbitraries keep their constraints; the fate questions answer right. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import ipaddr from "ipaddr.js";
import { droppedBy, loadNode, packet, packets, probabilityOf, reaches } from "../../src/testing/index.js";
import { netfateMatchers } from "../../src/testing/matchers.js";

const inNet = (a: string, cidr: string) => ipaddr.parse(a).match(ipaddr.parseCIDR(cidr));

describe("packets()", () => {
  it("draws only within the constraints", () => {
    const arb = packets({ from: ["eth0", "cni0"], src: "10.244.0.0/16", notSrc: "10.244.7.0/24", dst: ["10.96.0.0/12", "192.168.0.11"], proto: ["tcp", "icmp"], dport: [80, "30000-30010"] });
    fc.assert(fc.property(arb, (p) => {
      expect(["eth0", "cni0"]).toContain(p.from);
      expect(inNet(p.src!, "10.244.0.0/16") && !inNet(p.src!, "10.244.7.0/24")).toBe(true);
      expect(inNet(p.dst, "10.96.0.0/12") || p.dst === "192.168.0.11").toBe(true);
      expect([6, 1]).toContain(p.proto);
      if (p.proto === 6) expect(p.dport === 80 || (p.dport! >= 30000 && p.dport! <= 30010)).toBe(true);
      else expect(p.dport).toBeUndefined();
    }), { numRuns: 500 });
  });

  it("draws the edges of ranges and the addresses just outside an excluded range", () => {
    const seen = new Set(fc.sample(packets({ src: "10.0.0.0/8", notSrc: "10.1.0.0/16", dport: "100-200" }), { numRuns: 2000, seed: 1 }).flatMap((p) => [p.src, `port ${p.dport}`]));
    for (const edge of ["10.0.0.0", "10.255.255.255", "10.0.255.255", "10.2.0.0", "port 100", "port 200"]) expect(seen).toContain(edge);
  });

  it("draws IPv6 addresses inside IPv6 ranges", () => {
    fc.assert(fc.property(packets({ family: "ipv6", src: "fd00:10::/64", dst: "fd00:96::1", proto: "udp" }), (p) => {
      expect(inNet(p.src!, "fd00:10::/64")).toBe(true);
      expect(p.dst).toBe("fd00:96::1");
    }), { numRuns: 200 });
  });

  it("refuses a malformed port range and an address of the wrong family", () => {
    expect(() => packets({ dport: "90-80" })).toThrow(/bad port or range/);
    expect(() => packets({ src: "fd00::/8" })).toThrow(/not an IPv4/);
  });
});

describe("fate questions and matchers", () => {
  const node = loadNode({ rules: "samples/004-kube-proxy-nodeport/rules-guarded.save", node: "samples/004-kube-proxy-nodeport/node.json" });
  const nodePort = node.evaluate(packet("tcp 203.0.113.9:40000 -> 192.168.0.11:32110 in eth0"));
  const direct = node.evaluate(packet("tcp 203.0.113.9:40000 -> 172.17.0.2:80 in eth0"));

  it("reaches() reads interfaces, endpoints after DNAT and 'local'", () => {
    expect(nodePort.outcomes.every((o) => reaches(o, "docker0"))).toBe(true);
    expect(nodePort.outcomes.filter((o) => reaches(o, "172.17.0.3:80"))).toHaveLength(1);
    expect(nodePort.outcomes.some((o) => reaches(o, "172.17.0.3:81") || reaches(o, "local") || reaches(o, "eth0"))).toBe(false);
    expect(probabilityOf(nodePort, (o) => reaches(o, "172.17.0.0"))).toBe(0);
  });

  it("droppedBy() takes a chain, table/chain#rule, chain:policy or rule text", () => {
    const o = direct.outcomes[0]!;
    for (const ref of ["FORWARD", "filter/FORWARD", "FORWARD#4", "filter/FORWARD#4", "only the NodePort reaches pods"]) expect(droppedBy(o, ref)).toBe(true);
    for (const ref of ["INPUT", "nat/FORWARD", "FORWARD#3", "FORWARD:policy", "no such text"]) expect(droppedBy(o, ref)).toBe(false);
    expect(droppedBy(nodePort.outcomes[0]!)).toBe(false);
  });

  it("matchers pass and fail with the trace in the message", () => {
    expect(netfateMatchers.toBeDroppedBy.call({}, direct, "FORWARD#4").pass).toBe(true);
    const fail = netfateMatchers.toBeDeliveredTo.call({}, direct, "docker0");
    expect(fail.pass).toBe(false);
    expect(fail.message()).toContain("DROP");
    expect(fail.message()).toContain("-A FORWARD -i eth0 -o docker0");
    expect(netfateMatchers.toReachWithProbability.call({}, nodePort, "docker0", 1).pass).toBe(true);
    expect(netfateMatchers.toBeDroppedWithProbability.call({}, nodePort, 0).pass).toBe(true);
    expect(() => netfateMatchers.toBeDropped.call({}, { not: "an evaluation" })).toThrow(/evaluation/);
  });

  it("loadNode fails with every located error of a broken dump", () => {
    expect(() => loadNode({ rules: "samples/004-kube-proxy-nodeport/damaged/listing-from-post.txt" })).toThrow(/listing-from-post\.txt:\d+:\d+: error/);
  });
});
