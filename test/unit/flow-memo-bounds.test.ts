/** The flow memo's memory: bounded by what its kept answers weigh, and each holds only what the fields print. */
import { describe, expect, it } from "vitest";
import { nodeFromTexts, packet } from "../../src/testing/load.js";
import { FlowMemo, keptBytes } from "../../src/netfilter/flow-memo.js";
import { compactLines, FIELD_NAMES, parseFields } from "../../src/cli/commands/batch-fields.js";
import type { NetfilterNode } from "../../src/netfilter/model.js";

const ALL = parseFields(FIELD_NAMES.join(","));

/** A service's DNAT per destination, as kube-proxy writes them (one key each), and MASQUERADE on the way out. */
function serviceNode(services: number): NetfilterNode {
  let nat = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n";
  for (let i = 0; i < services; i++) nat += `-A PREROUTING -d 10.96.0.${i + 1}/32 -p tcp --dport 80 ! -s 10.244.0.0/16 -j DNAT --to-destination 10.244.1.${i + 1}:8080\n`;
  nat += "-A POSTROUTING -s 192.168.0.0/16 -j MASQUERADE\nCOMMIT\n";
  return nodeFromTexts({ rules: [{ file: "r.save", text: nat }] }, { ifaces: ["eth0=192.168.0.11/24", "cni0=10.244.0.1/16"], routes: ["default via 192.168.0.1 dev eth0"] });
}

const lines = (e: ReturnType<NetfilterNode["evaluate"]>) => compactLines(ALL, false, 1, e) + compactLines(ALL, true, 1, e);

describe("flow memo bounds", () => {
  it("keeps answers of at most its budget, and its answers stay the evaluated ones", () => {
    const node = serviceNode(40);
    // Room for a few answers only: most keys are forgotten as new ones come.
    const budget = 4 * keptBytes(4, 0, 1);
    const memo = new FlowMemo(node, { lean: true }, undefined, true, budget);
    let most = 0;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 40; i++) {
        for (const src of ["192.168.7.1", "192.168.7.2"]) {
          const p = packet(`tcp ${src}:${40000 + i} -> 10.96.0.${i + 1}:80 in eth0`);
          expect(lines(memo.evaluate(p))).toEqual(lines(node.evaluate(p, { lean: true })));
          most = Math.max(most, memo.keptBytes);
        }
      }
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(budget);
    // The second client of each service, just after the first, is still answered from the memo
    // (its answer waits in the window).
    expect(memo.stats.hits).toBeGreaterThanOrEqual(80);
  });

  it("keys that come round in order, more than fit: the answers that stay go on answering (forgetting the oldest first would answer none)", () => {
    const node = serviceNode(60);
    const budget = 12 * keptBytes(4, 0, 1);
    const memo = new FlowMemo(node, { lean: true }, undefined, true, budget);
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < 60; i++) {
        const p = packet(`tcp 192.168.7.${1 + round}:${40000 + i} -> 10.96.0.${i + 1}:80 in eth0`);
        expect(lines(memo.evaluate(p))).toEqual(lines(node.evaluate(p, { lean: true })));
        expect(memo.keptBytes).toBeLessThanOrEqual(budget);
      }
    }
    // Some eight answers fit: each later round answers about as many of its 60 packets.
    expect(memo.stats.hits).toBeGreaterThanOrEqual((rounds - 1) * 5);
  });

  it("a working set that moves: the keys looked up lately take the place of those no longer looked up", () => {
    const node = serviceNode(40);
    const budget = 10 * keptBytes(4, 0, 1);
    const memo = new FlowMemo(node, { lean: true }, undefined, true, budget);
    const round = (from: number, n: number, k: number) => {
      for (let i = from; i < from + n; i++) memo.evaluate(packet(`tcp 192.168.7.${1 + k}:${40000 + i} -> 10.96.0.${i + 1}:80 in eth0`));
    };
    for (let k = 0; k < 20; k++) round(0, 6, k);
    const before = memo.stats.hits;
    for (let k = 0; k < 20; k++) round(20, 6, k);
    // The second set's six keys are answered after their first few rounds (most of its 120 packets), as the first set's were.
    expect(before).toBeGreaterThan(60);
    expect(memo.stats.hits - before).toBeGreaterThan(60);
  });

  it("a kept answer's deciding step holds neither the packet it made nor its rewrites (they name the kept packet's source)", () => {
    const node = serviceNode(1);
    const memo = new FlowMemo(node, { lean: true });
    const first = packet("tcp 192.168.7.1:40000 -> 10.96.0.1:80 in eth0");
    // A described walk shows the NAT's rewrites; the lean one the memo keeps makes none (applyNat), and a hit must hold none either.
    expect(node.evaluate(first).outcomes.some((o) => o.steps.some((s) => s.packet || s.rewrites))).toBe(true);
    memo.evaluate(first);
    const again = memo.evaluate({ ...first, src: "192.168.7.2" });
    expect(memo.stats.hits).toBe(1);
    for (const o of again.outcomes) for (const s of o.steps) expect([s.packet, s.rewrites]).toEqual([undefined, undefined]);
  });

  it("packets alike in destination, port, protocol and interface but not in another field (the mark) are kept apart", () => {
    const rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m mark --mark 0x1 -j DROP\nCOMMIT\n";
    const node = nodeFromTexts({ rules: [{ file: "r.save", text: rules }] }, { ifaces: ["eth0=192.168.0.11/24", "eth1=10.0.0.1/24"], routes: ["default via 192.168.0.1 dev eth0"] });
    const memo = new FlowMemo(node, { lean: true });
    const p = packet("tcp 10.0.0.5:1000 -> 8.8.8.8:443 in eth1");
    const ps = [p, { ...p, src: "10.0.0.6", mark: 1 }, { ...p, src: "10.0.0.7" }, { ...p, src: "10.0.0.8", mark: 1 }];
    const fates = ps.map((x) => memo.evaluate(x).outcomes.map((o) => o.fate.kind).join());
    expect(fates).toEqual(["forwarded", "dropped", "forwarded", "dropped"]);
    expect(ps.map((x) => lines(memo.evaluate(x)))).toEqual(ps.map((x) => lines(node.evaluate(x, { lean: true }))));
    expect(memo.stats.hits).toBe(6);
  });
});
