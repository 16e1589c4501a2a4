/** Node facts in every text and JSON form iproute2 prints, captured from the real tool. */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import fc from "fast-check";
import { factsFromTexts } from "../../src/facts/parse.js";
import { nodeViewFromFacts } from "../../src/netfilter/node-view.js";

const fx = (f: string) => ({ file: f, text: readFileSync(resolve(import.meta.dirname, "../fixtures/node", f), "utf8") });

describe("iproute2 outputs", () => {
  for (const [name, files] of [
    ["ip addr + ip route (text)", ["ip-d-addr.txt", "ip-route.txt"]],
    ["ip -j addr + ip -j route show table all", ["ip-addr.json", "ip-route-all.json"]],
  ] as const) {
    it(name, () => {
      const { facts, diagnostics } = factsFromTexts(files.map(fx));
      expect(diagnostics).toEqual([]);
      const eth0 = facts.interfaces.find((i) => i.name === "eth0")!;
      expect(eth0.addrs).toContainEqual(expect.objectContaining({ address: "192.168.0.11", prefixLength: 24, family: "ipv4" }));
      const fl = facts.interfaces.find((i) => i.name === "flannel.1")!;
      // Only `-d` output names the link kind; plain `ip -j addr` does not.
      if (files[0] === "ip-d-addr.txt") expect(fl.tunnel).toMatchObject({ kind: "vxlan", port: 8472 });
      const v = nodeViewFromFacts(facts);
      expect(v.routeOutput({ dst: "192.168.0.50", family: "ipv4", mark: 0 })).toMatchObject({ kind: "unicast", dev: "eth0", src: "192.168.0.11" });
      expect(v.isLocal("10.244.0.0", "ipv4")).toBe(true);
      expect(v.addressType("127.0.0.1", "ipv4")).toBe("LOCAL");
    });
  }
  it("plain ip addr (without -d) reads addresses and MACs", () => {
    const { facts, diagnostics } = factsFromTexts([fx("ip-addr.txt")]);
    expect(diagnostics).toEqual([]);
    expect(facts.interfaces.map((i) => i.name)).toEqual(["lo", "p0", "eth0", "flannel.1"]);
    expect(facts.interfaces.find((i) => i.name === "eth0")!.mac).toMatch(/^[0-9a-f:]{17}$/);
  });
  it("never throws on random text; every problem has a line", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => {
      for (const d of factsFromTexts([{ file: "x", text: s }]).diagnostics) expect(d.line).toBeGreaterThanOrEqual(1);
    }), { numRuns: 300 });
  });
});
