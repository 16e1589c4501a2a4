/**
 * The cluster trace as text and the short answer: snapshots of the seed fixtures, and checks
 * that fail when a hop, an encapsulation line, a rewrite or the reply goes missing, and that a
 * request delivered whose reply is lost counts as a loss.
 */
import { describe, expect, it } from "vitest";
import { clusterTraceText, clusterWhyDroppedText } from "../../src/explain/cluster-text.js";
import { arrivalText, clusterOutcomeVerdict, clusterVerdict, placeText } from "../../src/explain/cluster-describe.js";
import { COLOURS, PLAIN } from "../../src/explain/colour.js";
import { fateText } from "../../src/explain/describe.js";
import type { ClusterEvaluation } from "../../src/netfilter/cluster.js";
import { seed001, seed002, seed002Dropped, twoWays } from "../support/cluster-fixtures.js";
import { missingInOrder } from "../support/in-order.js";

const text = (ev: ClusterEvaluation) => clusterTraceText(ev, { palette: PLAIN });
const why = (ev: ClusterEvaluation) => clusterWhyDroppedText(ev, { palette: PLAIN });

describe("cluster trace text", () => {
  it("seed 002: snapshot", () => expect(text(seed002())).toMatchSnapshot());
  it("seed 001: snapshot", () => expect(text(seed001())).toMatchSnapshot());
  it("a request dropped on node2: snapshot", () => expect(text(seed002Dropped())).toMatchSnapshot());
  it("two alternative ways: snapshot", () => expect(text(twoWays())).toMatchSnapshot());

  it("every hop's arrival and fate, in order, under the heading of its place", () => {
    for (const ev of [seed002(), seed001(), seed002Dropped(), twoWays()]) {
      const t = text(ev);
      for (const w of ev.outcomes.flatMap((o) => [o, ...(o.reply ?? [])])) {
        const needles = w.hops.flatMap((h) => [arrivalText(h), `→ ${fateText(h.outcome.fate)}`]);
        expect(missingInOrder(t, needles)).toEqual([]);
      }
    }
    const t = text(seed002());
    expect(t.split("\n").filter((l) => /^ {2}\S/.test(l))).toEqual([
      "  pod net-test1 on k8s-node1", "  k8s-node1", "  k8s-node2", "  pod net-test2 on k8s-node2",
      "  pod net-test2 on k8s-node2", "  k8s-node2", "  k8s-node1", "  pod net-test1 on k8s-node1",
    ]);
  });

  it("arrivals read as the packet came: from the pod, over the underlay, out of the tunnel; each encapsulation one line", () => {
    const t = text(seed002());
    expect(t).toContain("    arrived from pod net-test1 on cni0\n");
    expect(t).toContain("    encapsulated by flannel.1: UDP 172.16.100.101 → 172.16.100.102:8472\n");
    expect(t).toContain("    over the underlay from k8s-node1 ens192 on ens192\n");
    expect(t).toContain("    decapsulated by flannel.1 (vxlan) from 172.16.100.101\n");
    expect(t).toContain("    arrived from k8s-node2 cni0 on eth0\n");
    // The encapsulated leg is a hop of its own: not said a second time inside node1's hop.
    expect(t).not.toContain("outer packet");
    expect(t.match(/encapsulated by flannel\.1/g)).toHaveLength(2);
  });

  it("the node's rewrites and routing decisions are shown as the single-node trace shows them", () => {
    const t = text(seed001());
    expect(t).toContain("          → DNAT 10.0.0.103:80 → 10.1.63.3:80\n");
    expect(t).toContain("      re-route after OUTPUT: table main: 10.1.0.0/16 dev flannel0\n");
    expect(t).toContain("      input route: table main: 10.1.63.0/24 dev docker0 src 10.1.63.1\n");
  });

  it("the reply follows under Reply, with why it was lost", () => {
    const t = text(seed001());
    const reply = t.slice(t.indexOf("\nReply: "));
    expect(reply).toMatch(/^\nReply: REPLY LOST: .* at worker\n/);
    expect(missingInOrder(reply, ["  pod g4-backend on node-b\n", "  node-b\n", "  worker\n", "    → DROPPED by the routing decision on eth0: reverse-path filter"])).toEqual([]);
    expect(text(seed002())).toMatch(/\nReply: delivered locally \(arrived on eth0\) at pod net-test1 on k8s-node1\n/);
  });

  it("colours follow the fate: the lost reply red, the delivered request green", () => {
    const t = clusterTraceText(seed001(), { palette: COLOURS });
    expect(t).toContain(COLOURS.green("delivered locally (arrived on eth0) at pod g4-backend on node-b"));
    expect(t).toMatch(/\x1b\[31mREPLY LOST: /);
  });

  it("load-time problems are notes naming their node", () => {
    const ev = { ...seed002(), problems: [{ node: "k8s-node2", problem: { table: "filter" as const, chain: "FORWARD", rule: 3, message: "jump to missing chain X" } }] };
    expect(text(ev)).toMatch(/\nnote: k8s-node2: filter FORWARD rule 3: jump to missing chain X\n$/);
    expect(clusterTraceText(ev, { palette: PLAIN, notes: false })).not.toContain("note:");
  });
});

describe("cluster why-dropped", () => {
  it("snapshots", () => {
    expect(why(seed002())).toMatchSnapshot();
    expect(why(seed001())).toMatchSnapshot();
    expect(why(seed002Dropped())).toMatchSnapshot();
    expect(why(twoWays())).toMatchSnapshot();
  });

  it("a delivered request whose reply is lost is a failure, shown with both ways, where they part and what stopped the reply", () => {
    const t = why(seed001());
    expect(t.split("\n")[1]).toBe("Delivered, but the reply is lost.");
    // Long ways are broken between places; read them as one line.
    const flat = t.replace(/ →\n +/g, " → ");
    expect(missingInOrder(flat, [
      "\n  request: delivered locally (arrived on eth0) at pod g4-backend on node-b → 10.1.63.3:80 (nat KUBE-SEP-",
      "way: worker → node-b (through flannel0, udp (flanneld)) → pod g4-backend on node-b",
      "\n  reply: REPLY LOST: the reply reaches worker on eth0 and is dropped there at worker",
      "way back: pod g4-backend on node-b → node-b → worker",
      "parted: the request left worker by flannel0",
      "stopped at worker: DROPPED by the routing decision on eth0: reverse-path filter (rp_filter=1",
    ])).toEqual([]);
  });

  it("a request dropped on the way: where, by which rule", () => {
    const t = why(seed002Dropped());
    expect(t.split("\n")[1]).toBe("Dropped.");
    expect(t.replace(/ →\n +/g, " → ")).toContain("way: pod net-test1 on k8s-node1 → k8s-node1 → k8s-node2 (through flannel.1, vxlan)");
    expect(t).toContain("stopped at k8s-node2: DROPPED by filter FORWARD rule 1 (hook FORWARD)");
    expect(t).toContain("-A FORWARD -d 10.244.2.14/32 -p icmp -j DROP");
  });

  it("verdicts: lost when the request or its reply is, for the CLI's exit code", () => {
    expect(clusterVerdict(seed002())).toBe("through");
    expect(clusterVerdict(seed001())).toBe("lost");
    expect(clusterOutcomeVerdict(seed001().outcomes[0]!)).toBe("lost");
    expect(clusterVerdict(seed002Dropped())).toBe("lost");
    expect(clusterVerdict(twoWays())).toBe("lost");
    expect(clusterVerdict({ outcomes: [] })).toBe("unknown");
    const ev = seed002();
    const w = ev.outcomes[0]!;
    const unknownBack = { ...ev, outcomes: [{ ...w, reply: [{ ...w.reply![0]!, fate: { kind: "indeterminate" as const, reason: "r" } }] }] };
    expect(clusterVerdict(unknownBack)).toBe("unknown");
    expect(why(unknownBack).split("\n")[1]).toBe("Cannot tell: the answer depends on something the input does not say.");
  });

  it("the first line says where the packet starts", () => {
    expect(why(seed002()).split("\n")[0]).toBe(`icmp 10.244.1.12 -> 10.244.2.14 type 8 local — from ${placeText({ node: "k8s-node1", pod: "net-test1" })}`);
  });
});
