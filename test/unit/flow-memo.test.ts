/** The flow memo's cases found by its property test (test/property/batch-flow-memo.test.ts), pinned. */
import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { loadNode, nodeFromTexts, packet } from "../../src/testing/load.js";
import { FlowMemo } from "../../src/netfilter/flow-memo.js";
import { compactLines, FIELD_NAMES, parseFields } from "../../src/cli/commands/batch-fields.js";
import type { NetfilterNode } from "../../src/netfilter/model.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { memoAnswer } from "../../src/cli/commands/batch-answer.js";
import type { LinesTemplate } from "../../src/cli/commands/batch-fields.js";

const ALL = parseFields(FIELD_NAMES.join(","));
const sample = (f: string) => resolve(import.meta.dirname, "../../samples/004-kube-proxy-nodeport", f);

/** Each packet's lines from one memo, beside its own evaluation's; and the memo's hits. */
function both(node: NetfilterNode, packets: PacketSpec[]): { memo: string[]; plain: string[]; hits: number } {
  const memo = new FlowMemo(node, { lean: true });
  const lines = (e: ReturnType<NetfilterNode["evaluate"]>) => compactLines(ALL, false, 1, e) + compactLines(ALL, true, 1, e);
  const m = packets.map((p) => lines(memo.evaluate(p)));
  return { memo: m, plain: packets.map((p) => lines(node.evaluate(p, { lean: true }))), hits: memo.stats.hits };
}

describe("flow memo", () => {
  it("an assumption that names the source port keys the port (a later packet's connection NAT)", () => {
    const node = loadNode({ rules: sample("rules.save"), node: sample("node.json") });
    const p = packet("tcp 192.168.0.11:1 -> 192.168.0.11:32110 local established");
    const r = both(node, [p, { ...p, sport: 8080 }]);
    expect(r.memo).toEqual(r.plain);
    expect(r.memo[1]).toContain("192.168.0.11:8080 → 172.17.0.1:8080");
  });

  it("an answer is not used for a packet from a port NAT wrote, or from the destination port (a history's packet could then equal another's): those are evaluated", () => {
    const rules = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n" +
      "-A OUTPUT -p tcp -m statistic --mode random --probability 0.5 -j DNAT --to-destination 8.8.8.8:2000\nCOMMIT\n";
    const node = nodeFromTexts({ rules: [{ file: "r.save", text: rules }] }, { ifaces: ["eth0=192.168.0.11/24"], routes: ["default via 192.168.0.1 dev eth0"] });
    const p = packet("tcp 192.168.0.11:40000 -> 8.8.8.8:80 local");
    const memo = new FlowMemo(node, { lean: true });
    memo.evaluate(p);
    const hitsFor = (sport: number) => {
      const before = memo.stats.hits;
      memo.evaluate({ ...p, sport });
      return memo.stats.hits - before;
    };
    // Each evaluated (and kept exactly for its own port), not answered from the first.
    expect([hitsFor(2000), hitsFor(80)]).toEqual([0, 0]);
    expect(hitsFor(40001)).toBe(1);
    const r = both(node, [p, { ...p, sport: 2000 }, { ...p, sport: 80 }, { ...p, sport: 40001 }]);
    expect(r.memo).toEqual(r.plain);
  });

  it("a set changed by -j SET: the answers kept before are not used after", () => {
    const rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m set --match-set seen src -j DROP\n-A FORWARD -p udp -j SET --add-set seen src\nCOMMIT\n";
    const node = nodeFromTexts(
      { rules: [{ file: "r.save", text: rules }], ipsets: [{ file: "s.save", text: "create seen hash:ip family inet hashsize 1024 maxelem 65536\n" }] },
      { ifaces: ["eth0=192.168.0.11/24", "eth1=10.0.0.1/24"], routes: ["default via 192.168.0.1 dev eth0"] },
    );
    const tcp = packet("tcp 10.0.0.5:1000 -> 8.8.8.8:443 in eth1");
    const r = both(node, [tcp, { ...tcp, sport: 1001 }, packet("udp 10.0.0.5:1000 -> 8.8.8.8:53 in eth1"), { ...tcp, sport: 1002 }]);
    expect(r.memo).toEqual(r.plain);
  });

  it("clients of one service from other sources and ports are answered from the memo (their packets leave through a VXLAN device)", () => {
    const node = loadNode({ rules: resolve(import.meta.dirname, "../../samples/kube-proxy-basic/rules.save"), node: resolve(import.meta.dirname, "../../samples/kube-proxy-basic/node.json") });
    const ps = Array.from({ length: 20 }, (_, i) => packet(`tcp 192.168.0.${50 + i}:${40000 + i} -> 10.96.45.12:80 in eth0`));
    const r = both(node, ps);
    expect(r.memo).toEqual(r.plain);
    expect(r.hits).toBeGreaterThan(15);
  });

  it("lines kept as a template: a rule whose text holds the template's stand-ins is not kept that way, and its lines stay right", () => {
    const rules = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p tcp --dport 443 -m comment --comment "\u00ff 777777 44444444441" -j ACCEPT\n-A FORWARD -p tcp -j ACCEPT\nCOMMIT\n';
    const node = nodeFromTexts({ rules: [{ file: "r.save", text: rules }] }, { ifaces: ["eth0=192.168.0.11/24", "eth1=10.0.0.1/24"], routes: ["default via 192.168.0.1 dev eth0"] });
    for (const json of [false, true]) {
      const memo = new FlowMemo<LinesTemplate>(node, { lean: true });
      const answer = memoAnswer(memo, { chosen: ALL, json });
      const ps = [443, 443, 80, 80, 80].map((port, i) => packet(`tcp 10.0.0.${5 + i}:${1000 + i} -> 8.8.8.8:${port} in eth1`));
      const got = ps.map((p, i) => answer(p, i + 1));
      expect(got.map((a) => ("lines" in a ? a.lines : undefined))).toEqual(ps.map((p, i) => compactLines(ALL, json, i + 1, node.evaluate(p, { lean: true }))));
      // Port 443's answer names the stand-ins in its rule: evaluated each time; port 80's is kept, and answers the next two.
      expect(memo.stats).toEqual({ hits: 2, misses: 3, unkept: 2 });
    }
  });
});
