/**
 * Seed 000's IPVS part: kube-proxy in IPVS mode on a Calico IPIP node. The ClusterIP
 * 10.107.161.255:8080 (an address of kube-ipvs0) and NodePort 30080 are IPVS virtual services
 * (rr, Masq) with two endpoints, pod2 on this node and pod3 behind tunl0. As the seed observed:
 * pod → ClusterIP is DNATed to a backend; external → NodePort is masqueraded to the node's
 * address, or to tunl0's 10.244.153.192 when the backend is on the other node.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { nodeFromTexts, packet } from "../../src/testing/load.js";

const dir = resolve(import.meta.dirname, "../../samples/000-calico-ipip-ipvs-policy");
const text = (file: string) => ({ file, text: readFileSync(resolve(dir, file), "utf8") });

interface Case {
  name: string;
  packet: string;
  ipvs?: boolean;
  expected: { outcomes?: Array<{ probability: number; iface: string; src: string; dst: string; dport: number }> };
}

describe("seed 000: kube-proxy IPVS mode", () => {
  const node = nodeFromTexts({
    rules: [text("filter.save"), text("nat.save")],
    ipsets: [text("ipsets.save")],
    node: [text("node.json")],
    ipvs: [text("ipvsadm.txt")],
  });
  const cases = (JSON.parse(text("packets.json").text) as Case[]).filter((c) => c.ipvs);
  it("the sample has its IPVS packets", () => expect(cases.length).toBeGreaterThanOrEqual(2));
  for (const c of cases) {
    it(c.name, () => {
      const { outcomes } = node.evaluate(packet(c.packet));
      expect(outcomes.map((o) => ({ probability: o.probability, iface: (o.fate as { iface?: string }).iface, src: o.final.src, dst: o.final.dst, dport: o.final.dport }))).toEqual(c.expected.outcomes);
      for (const o of outcomes) {
        expect(o.fate.kind).toBe("forwarded");
        const ipvs = o.steps.find((s) => s.table === "ipvs")!;
        expect(ipvs.hook).toBe("INPUT");
        expect(ipvs.ipvs).toMatchObject({ scheduler: "rr", method: "masq" });
        // net.ipv4.vs.conntrack=1 is in the node facts: nothing about it is assumed (the masquerade is --random-fully: its port is the kernel's pick).
        expect(o.assumptions.filter((a) => !/rotation stands is not known|reverse-path filtering assumed off|the kernel.s random pick/.test(a))).toEqual([]);
      }
      // pod3 is behind tunl0: the packet leaves IP-in-IP to the other node.
      const cross = outcomes.find((o) => (o.fate as { iface?: string }).iface === "tunl0")!;
      expect(cross.encapsulated?.[0]?.final).toMatchObject({ src: "192.168.100.111", dst: "192.168.100.112" });
    });
  }

  it("without the ipvsadm input IPVS is not there: the NodePort packet is delivered to this node", () => {
    const plain = nodeFromTexts({ rules: [text("filter.save"), text("nat.save")], ipsets: [text("ipsets.save")], node: [text("node.json")] });
    const { outcomes } = plain.evaluate(packet("tcp 172.20.151.77:47334 -> 172.18.22.111:30080 in eth0"));
    expect(outcomes.map((o) => o.fate.kind)).toEqual(["delivered"]);
  });
});
