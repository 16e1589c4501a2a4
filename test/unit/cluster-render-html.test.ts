/**
 * The cluster page as a string: self-contained (no address it would load), every hop a box,
 * names that look like markup shown as text, and load-time problems listed with their node.
 * (test/browser/cluster-html.test.ts checks how it draws.)
 */
import { describe, expect, it } from "vitest";
import { clusterHtmlPage } from "../../src/explain/cluster-html.js";
import { clusterTraceText, clusterWhyDroppedText } from "../../src/explain/cluster-text.js";
import type { ClusterEvaluation } from "../../src/netfilter/cluster.js";
import { seed001, seed002 } from "../support/cluster-fixtures.js";

/** seed 002 with its nodes and pods renamed by `f`. */
function renamed(f: (name: string) => string): ClusterEvaluation {
  const ev = seed002();
  const place = (p: { node: string; pod?: string }) => ({ node: f(p.node), ...(p.pod !== undefined ? { pod: f(p.pod) } : {}) });
  const way = (w: ClusterEvaluation["outcomes"][number]): ClusterEvaluation["outcomes"][number] => ({
    ...w, at: place(w.at),
    hops: w.hops.map((h) => ({ ...h, at: place(h.at), arrival: h.arrival.kind === "link" ? { ...h.arrival, from: place(h.arrival.from) } : h.arrival })),
    ...(w.reply ? { reply: w.reply.map(way) } : {}),
  });
  return { ...ev, start: place(ev.start), outcomes: ev.outcomes.map(way) };
}

describe("cluster HTML page", () => {
  it("loads nothing from elsewhere: no src, no href, no URL but the SVG namespace", () => {
    for (const ev of [seed001(), seed002()]) {
      const html = clusterHtmlPage(ev);
      expect(html).not.toMatch(/\s(src|href)=/i);
      expect(html.match(/https?:\/\/[^"\s<]*/g)).toEqual(["http://www.w3.org/2000/svg"]);
      // The only script is data, which browsers do not run.
      expect(html.match(/<script[^>]*>/g)).toEqual(['<script type="application/json" id="netfate-data">']);
    }
  });

  it("every hop of the request and of the reply is a box, each way ends in one end box", () => {
    const html = clusterHtmlPage(seed001());
    const ev = seed001();
    const hops = ev.outcomes[0]!.hops.length + ev.outcomes[0]!.reply![0]!.hops.length;
    expect(html.match(/<g class="box hop /g)).toHaveLength(hops);
    expect(html.match(/<g class="box fate request through"/g)).toHaveLength(1);
    expect(html.match(/<g class="box fate reply lost"/g)).toHaveLength(1);
  });

  it("names that look like markup are text", () => {
    const html = clusterHtmlPage(renamed((n) => `${n}<img onerror="x">&amp;`));
    expect(html).not.toContain("<img");
    expect(html).toContain("k8s-node1&lt;img onerror=&quot;x&quot;&gt;&amp;amp;");
    // The embedded JSON cannot end its script element early.
    const data = html.slice(html.indexOf('id="netfate-data">'));
    expect(data.slice(0, data.indexOf("</script>"))).not.toContain("<");
  });

  it("load-time problems are listed with their node", () => {
    const ev = { ...seed002(), problems: [{ node: "k8s-node2", problem: { table: "filter" as const, chain: "FORWARD", message: "jump to <missing> chain" } }] };
    expect(clusterHtmlPage(ev)).toContain('<ul id="notes"><li>note: k8s-node2: filter FORWARD: jump to &lt;missing&gt; chain</li></ul>');
  });
});

describe("cluster renderers on evaluations with nothing to draw", () => {
  const start = { node: "node-01", pod: "net-test1" };
  const none: ClusterEvaluation = { ...seed002(), start, outcomes: [] };
  const failed: ClusterEvaluation = { ...seed002(), start, outcomes: [{ probability: 1, assumptions: [], hops: [], fate: { kind: "error", reason: "no node named node-09" }, at: start }] };
  it("no way: an empty page with sizes that are not negative, a text with the packet alone", () => {
    const html = clusterHtmlPage(none);
    const [, w, h] = /<svg id="cluster"[^>]* width="(-?\d+)" height="(-?\d+)"/.exec(html)!;
    expect(Number(w)).toBeGreaterThan(0);
    expect(Number(h)).toBeGreaterThan(0);
    expect(clusterTraceText(none)).toBe("icmp 10.244.1.12 -> 10.244.2.14 type 8 local — from pod net-test1 on node-01\n");
    expect(clusterWhyDroppedText(none).split("\n")[1]).toBe("Cannot tell: the answer depends on something the input does not say.");
  });
  it("a way with no hop (an error before the first): its end box on the place it names, its heading in the text", () => {
    expect(clusterHtmlPage(failed)).toMatch(/<g class="box fate request unknown" id="w0-fate" data-way="0" data-node="node-01" data-pod="net-test1">/);
    expect(clusterTraceText(failed)).toContain("Outcome 1 of 1: error: no node named node-09 at pod net-test1 on node-01\n");
    expect(clusterWhyDroppedText(failed)).toContain("Cannot tell");
  });
});
