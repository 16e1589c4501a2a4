/**
 * The cluster trace's JSON: it validates against trace.schema.json (its cluster form), every
 * hop and every step names its node, the reply is nested in the way it answers, and the
 * schema refuses what it should.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { buildNode } from "../../src/netfilter/model.js";
import { clusterEvaluationJson } from "../../src/explain/cluster-json.js";
import type { ClusterHop } from "../../src/model/cluster.js";
import type { ClusterEvaluation } from "../../src/netfilter/cluster.js";
import { filterRuleset, packetArb } from "../support/arbitraries.js";
import { simpleNode } from "../support/simple-node.js";
import { seed001, seed002 } from "../support/cluster-fixtures.js";

const schema = JSON.parse(readFileSync(resolve(import.meta.dirname, "../../src/explain/trace.schema.json"), "utf8"));
const ajv = new Ajv2020.default({ allErrors: true, strict: false });
const validate = ajv.compile(schema);
const roundTrip = (j: unknown) => JSON.parse(JSON.stringify(j)) as Record<string, any>;

function expectValid(j: unknown): void {
  const ok = validate(roundTrip(j));
  expect(validate.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
}

describe("cluster trace JSON", () => {
  it("the seed fixtures validate", () => {
    expectValid(clusterEvaluationJson(seed002()));
    expectValid(clusterEvaluationJson(seed001()));
  });

  it("every hop and every step names its node (and pod); the reply is nested in its way", () => {
    const j = roundTrip(clusterEvaluationJson(seed002()));
    expect(j.kind).toBe("cluster");
    expect(j.start).toEqual({ node: "k8s-node1", pod: "net-test1" });
    const way = j.outcomes[0];
    expect(way.hops.map((h: any) => [h.node, h.pod ?? null, h.depth, h.arrival.kind])).toEqual([
      ["k8s-node1", "net-test1", 0, "start"],
      ["k8s-node1", null, 0, "link"],
      ["k8s-node1", null, 1, "encapsulated"],
      ["k8s-node2", null, 1, "link"],
      ["k8s-node2", null, 0, "decapsulated"],
      ["k8s-node2", "net-test2", 0, "link"],
    ]);
    for (const h of [...way.hops, ...way.reply[0].hops]) {
      expect(h.steps.length).toBeGreaterThan(0);
      for (const s of h.steps) expect({ node: s.node, pod: s.pod }).toEqual({ node: h.node, pod: h.pod });
    }
    expect(way.reply).toHaveLength(1);
    expect(way.reply[0].at).toEqual({ node: "k8s-node1", pod: "net-test1" });
    expect(way.hops[2].packet).toMatchObject({ src: "172.16.100.101", dst: "172.16.100.102", dport: 8472, proto: 17 });
  });

  it("a lost reply says why: reply-lost with where it parted and the hop's own drop as cause", () => {
    const j = roundTrip(clusterEvaluationJson(seed001()));
    const back = j.outcomes[0].reply[0];
    expect(back.fate).toMatchObject({ kind: "reply-lost", parted: expect.stringContaining("flannel0"), cause: { kind: "martian", check: "rp_filter", iface: "eth0" } });
    expect(back.hops.at(-1).node).toBe("worker");
    // The DNAT is a step on the worker, with its rewrite.
    const dnat = j.outcomes[0].hops[0].steps.find((s: any) => s.verdict === "DNAT");
    expect(dnat).toMatchObject({ node: "worker", rewrites: ["DNAT 10.0.0.103:80 → 10.1.63.3:80"] });
  });

  it("hops made of any single-node evaluation validate, verbose or not", () => {
    const node = simpleNode({ addrs: { eth0: ["192.168.0.11/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });
    fc.assert(fc.property(filterRuleset, packetArb, fc.boolean(), (rs, p, verbose) => {
      const e = buildNode({ rulesets: [rs], node }).evaluate(p, { verbose });
      const hops: ClusterHop[] = e.outcomes.map((o, i) => ({ at: { node: `n${i}` }, depth: 0, packet: p, arrival: i === 0 ? { kind: "start" } : { kind: "link", from: { node: `n${i - 1}` }, fromIface: "eth0", iface: "eth0" }, outcome: o }));
      const ev: ClusterEvaluation = {
        packet: p, start: { node: "n0" },
        outcomes: [{ probability: 1, assumptions: [], hops, fate: e.outcomes.at(-1)!.fate, at: { node: "n0" }, reply: [{ probability: 1, assumptions: [], hops, fate: { kind: "reply-lost", reason: "r" }, at: { node: "n0" } }] }],
        problems: e.problems.map((problem) => ({ node: "n0", problem })),
      };
      expectValid(clusterEvaluationJson(ev));
    }), { numRuns: 100 });
  });

  it("the cluster form is not vacuous", () => {
    const good = roundTrip(clusterEvaluationJson(seed001()));
    expect(validate(good)).toBe(true);
    const without = (f: (j: Record<string, any>) => void) => {
      const j = roundTrip(good);
      f(j);
      return validate(j);
    };
    expect(without((j) => delete j.outcomes[0].hops[0].steps[0].node)).toBe(false);
    expect(without((j) => delete j.outcomes[0].hops[1].node)).toBe(false);
    expect(without((j) => delete j.outcomes[0].reply[0].fate.reason)).toBe(false);
    expect(without((j) => (j.outcomes[0].reply[0].fate.cause = { kind: "vanished" }))).toBe(false);
    expect(without((j) => delete j.outcomes[0].hops)).toBe(false);
    expect(without((j) => (j.outcomes[0].hops[2].arrival = { kind: "encapsulated" }))).toBe(false);
    expect(without((j) => delete j.start)).toBe(false);
    // A single-node trace does not pass as a cluster one, nor the other way round.
    expect(without((j) => (j.kind = "node"))).toBe(false);
  });
});
