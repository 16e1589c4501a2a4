/**
 * The renderers on the cluster evaluator's own answers (seed 003: Calico IPIP between two
 * nodes): every hop and the reply shown, the JSON valid, the page drawing every hop, and a
 * reply dropped on its way back counted as a loss.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { clusterTraceText, clusterWhyDroppedText } from "../../src/explain/cluster-text.js";
import { clusterEvaluationJson } from "../../src/explain/cluster-json.js";
import { clusterHtmlPage } from "../../src/explain/cluster-html.js";
import { arrivalText, clusterVerdict } from "../../src/explain/cluster-describe.js";
import { fateText } from "../../src/explain/describe.js";
import { seed003, seed003ReplyDropped } from "../support/cluster-fixtures.js";
import { missingInOrder } from "../support/in-order.js";

const validate = new Ajv2020.default({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(resolve(import.meta.dirname, "../../src/explain/trace.schema.json"), "utf8")));

describe("renderers on the cluster evaluator's answers (seed 003)", () => {
  it("pod to pod and back: every hop in the text, in order; the reply under Reply; the JSON valid; every hop on the page", () => {
    const ev = seed003();
    expect(clusterVerdict(ev)).toBe("through");
    const t = clusterTraceText(ev);
    for (const w of ev.outcomes.flatMap((o) => [o, ...(o.reply ?? [])])) {
      expect(missingInOrder(t, w.hops.flatMap((h) => [arrivalText(h), `→ ${fateText(h.outcome.fate)}`]))).toEqual([]);
    }
    expect(t).toContain("    encapsulated by tunl0: IPIP 192.168.247.94 → 192.168.247.95\n");
    expect(t).toContain("    decapsulated by tunl0 (ipip) from 192.168.247.94\n");
    expect(t).toMatch(/\nReply: delivered locally \(arrived on eth0\) at pod net-test1 on node-01\n/);
    expect(clusterWhyDroppedText(ev).split("\n")[1]).toBe("Not dropped, and the reply gets back.");
    const j = JSON.parse(JSON.stringify(clusterEvaluationJson(ev)));
    expect(validate(j)).toBe(true);
    const hops = ev.outcomes[0]!.hops.length + ev.outcomes[0]!.reply![0]!.hops.length;
    expect(clusterHtmlPage(ev).match(/<g class="box hop /g)).toHaveLength(hops);
  });

  it("a reply dropped on node-01 on its way back: the request was delivered, the way is lost, both ways shown", () => {
    const ev = seed003ReplyDropped();
    const w = ev.outcomes[0]!;
    expect(w.fate.kind).toBe("delivered");
    expect(w.reply?.[0]?.fate.kind).toBe("reply-lost");
    expect(clusterVerdict(ev)).toBe("lost");
    const why = clusterWhyDroppedText(ev);
    expect(why.split("\n")[1]).toBe("Delivered, but the reply is lost.");
    expect(missingInOrder(why.replace(/ →\n +/g, " → "), [
      "\n  request: delivered locally (arrived on eth0) at pod net-test2 on node-02",
      "way: pod net-test1 on node-01 → node-01 → node-02 (through tunl0, ipip) → pod net-test2 on node-02",
      "\n  reply: REPLY LOST",
      "way back: pod net-test2 on node-02 → node-02 → node-01 (through tunl0, ipip)",
      "stopped at node-01: DROPPED by filter FORWARD rule 1 (hook FORWARD)",
      "-A FORWARD -i tunl0 -p tcp -m tcp --sport 80 -j DROP",
    ])).toEqual([]);
    const j = JSON.parse(JSON.stringify(clusterEvaluationJson(ev)));
    expect(validate(j)).toBe(true);
    expect(clusterHtmlPage(ev)).toMatch(/<g class="box fate reply lost"/);
  });
});

describe("a way out of the cluster", () => {
  it("says it left, from where, and that what happens beyond is not modelled", () => {
    const ev = seed003(undefined, "tcp 10.200.226.132:40000 -> 8.8.8.8:443 local");
    const t = clusterTraceText(ev);
    expect(t).toContain("Outcome 1 of 1: forwarded out eth0 via 192.168.247.2 at node-01, leaving the cluster\n");
    expect(t).toContain("\n  left the cluster from node-01 by eth0 via 192.168.247.2: no node or pod of the cluster holds 8.8.8.8 (what happens beyond is not modelled)\n");
    expect(clusterWhyDroppedText(ev)).toContain("  forwarded out eth0 via 192.168.247.2 at node-01, leaving the cluster; reply delivered");
    // The request's end box, its lines read as one.
    const box = /<g class="box fate request[^"]*"[^>]*><title>[^<]*<\/title>(.*?)<\/g>/.exec(clusterHtmlPage(ev))![1]!;
    expect([...box.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]).join(" ")).toBe(
      "Request: forwarded out eth0 via 192.168.247.2 left the cluster from node-01 by eth0 via 192.168.247.2: no node or pod of the cluster holds 8.8.8.8 (beyond is not modelled)");
    expect(validate(JSON.parse(JSON.stringify(clusterEvaluationJson(ev))))).toBe(true);
  });
});
