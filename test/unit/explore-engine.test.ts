/**
 * The interactive page's engine, driven in Node with the messages the page sends: tracing
 * typed packets, the rule search, "which rules mention this address/port" (from the parsed
 * rules: networks, port ranges, ipset members, nft sets) and a step's whole chain.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ExploreEngine, type ListedRule, type Reply, type Request } from "../../src/explore/engine.js";
import type { ExploreData } from "../../src/explore/session.js";
import type { TextInput } from "../../src/assemble.js";
import { renderTrace } from "../../src/explore/render-trace.js";
import { nodeFromTexts, packet } from "../../src/testing/load.js";

const SAMPLES = resolve(import.meta.dirname, "../../samples");
const file = (dir: string, name: string): TextInput => ({ file: name, text: readFileSync(join(SAMPLES, dir, name), "utf8") });

async function engineOf(d: Partial<ExploreData> & Pick<ExploreData, "rules">): Promise<ExploreEngine> {
  const e = new ExploreEngine();
  const data: ExploreData = { ipsets: [], node: [], shortcuts: { ifaces: [], localAddrs: [], routes: [] }, notes: [], ...d };
  const r = await e.handle({ type: "load", data: JSON.stringify(data) });
  expect(r.type).toBe("loaded");
  return e;
}

let id = 0;
async function ask<T extends Reply["type"]>(e: ExploreEngine, m: Request extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never, type: T): Promise<Extract<Reply, { type: T }>> {
  const r = await e.handle({ ...m, id: ++id } as Request);
  expect(r.type).toBe(type);
  return r as Extract<Reply, { type: T }>;
}

const texts = (rules: ListedRule[]) => rules.map((r) => r.text);

describe("the engine on kube-proxy-basic", () => {
  let e: ExploreEngine;
  beforeAll(async () => {
    e = await engineOf({ rules: [file("kube-proxy-basic", "rules.save")], node: [file("kube-proxy-basic", "node.json")] });
  });

  it("traces a typed packet and says where a bad one is wrong", async () => {
    const ok = await ask(e, { type: "trace", text: "tcp 192.168.0.50:40000 -> 10.96.200.1:80 in eth0" }, "trace");
    expect(ok.ok && ok.fates).toEqual(["rejected"]);
    const bad = await ask(e, { type: "trace", text: "tcp 192.168.0.50:40000 -> 10.96.200.1:80 in" }, "trace");
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.col).toBe(42);
  });

  it("finds the rules that name an address inside their networks, not by text", async () => {
    const r = await ask(e, { type: "mentions", address: "10.96.45.12" }, "rules");
    expect(r.total).toBeGreaterThan(0);
    expect(r.rules.every((x) => x.why!.some((w) => w.includes("10.96.45.12/32")))).toBe(true);
    // A /16 query overlaps every service address of the dump.
    const wide = await ask(e, { type: "mentions", address: "10.96.0.0/16" }, "rules");
    expect(wide.total).toBeGreaterThan(r.total);
    // A pod network rule: ! -s 10.244.0.0/16 names 10.244.1.5, negated or not.
    const pod = await ask(e, { type: "mentions", address: "10.244.1.5" }, "rules");
    expect(pod.rules.flatMap((x) => x.why!)).toEqual(expect.arrayContaining(["-s 10.244.1.5/32", "-j DNAT --to-destination 10.244.1.5:8080"]));
  });

  it("needs both an address and a port in one rule when both are asked", async () => {
    const both = await ask(e, { type: "mentions", address: "10.244.1.5", port: 8080 }, "rules");
    expect(texts(both.rules)).toEqual([expect.stringMatching(/-j DNAT --to-destination 10\.244\.1\.5:8080$/)]);
    expect((await ask(e, { type: "mentions", port: 31000 }, "rules")).rules[0]!.why).toEqual(["-m tcp --dport 31000"]);
    expect((await ask(e, { type: "mentions" }, "rules")).error).toBe("give an address, a port, or both");
    expect((await ask(e, { type: "mentions", address: "eth0" }, "rules")).error).toMatch(/is not an address or network/);
  });

  it("searches every rule's text as iptables-save prints it, with how many matched in all", async () => {
    const r = await ask(e, { type: "search", query: "KUBE-MARK-MASQ  -j mark" }, "rules");
    expect(r.total).toBe(r.rules.length);
    expect(texts(r.rules)).toContain("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000");
    expect((await ask(e, { type: "search", query: "   " }, "rules")).total).toBe(0);
  });

  it("opens a chain with every rule and the policy, as the step names it", async () => {
    const c = await ask(e, { type: "chain", ref: { family: "ipv4", table: "filter", chain: "FORWARD" }, rule: "policy" }, "chain");
    expect(c.place).toBe("filter FORWARD");
    expect(texts(c.rules)[0]).toBe(":FORWARD ACCEPT");
    expect(c.rules.slice(1).every((r, i) => r.rule === i + 1 && r.text.startsWith("-A FORWARD "))).toBe(true);
    expect(c.highlight).toBe("policy");
    expect((await ask(e, { type: "chain", ref: { family: "ipv4", table: "filter", chain: "NOPE" }, rule: 1 }, "chain")).error).toMatch(/no such chain/);
  });
});

describe("the rule index", () => {
  it("built a chain at a time while idle, holds the same rules as built at once", async () => {
    const d = "000-calico-ipip-ipvs-policy";
    const inputs = { rules: [file(d, "filter.save"), file(d, "nat.save")] };
    const once = await engineOf(inputs);
    const slices = await engineOf(inputs);
    let calls = 0;
    // A budget of 0 ms still indexes one chain per call: the work always moves on.
    while (!slices.warm(0)) calls++;
    expect(calls).toBeGreaterThan(3);
    const q = { type: "search", query: "-A" } as const;
    const a = await ask(once, q, "rules");
    const b = await ask(slices, q, "rules");
    expect(b.total).toBe(a.total);
    expect(b.rules).toEqual(a.rules);
  });
});

describe("the engine on other dumps", () => {
  it("reads an ipset's members for a mention, hash:ip,port and bitmap:port alike", async () => {
    const d = "000-calico-ipip-ipvs-policy";
    const e = await engineOf({ rules: [file(d, "filter.save"), file(d, "nat.save")], ipsets: [file(d, "ipsets.save")], node: [file(d, "node.json")] });
    const a = await ask(e, { type: "mentions", address: "10.107.161.255" }, "rules");
    expect(a.rules.flatMap((r) => r.why!)).toContain("-m set --match-set KUBE-CLUSTER-IP dst,dst: set KUBE-CLUSTER-IP has 10.107.161.255,tcp:8080");
    const p = await ask(e, { type: "mentions", port: 30080 }, "rules");
    expect(p.rules.flatMap((r) => r.why!)).toContain("-m set --match-set KUBE-NODE-PORT-TCP dst: set KUBE-NODE-PORT-TCP has 30080");
    const m = await ask(e, { type: "mentions", address: "10.244.153.204", port: 80 }, "rules");
    expect(m.rules.some((r) => r.text.includes("--match-set cali40s:SPeglQlTBmfidv00S2cBaDC src -m multiport --dports 80"))).toBe(true);
  });

  it("looks into nft sets and maps the rule uses, and opens nft chains", async () => {
    const d = "006-kube-proxy-nftables";
    const e = await engineOf({ rules: [file(d, "ruleset.nft")], node: [file(d, "node.json")] });
    const a = await ask(e, { type: "mentions", address: "10.96.0.30" }, "rules");
    expect(a.rules.map((r) => `${r.place}: ${r.why!.join("; ")}`)).toEqual(expect.arrayContaining([
      "ip kube-proxy cluster-ips-check: ip daddr @cluster-ips",
      "ip kube-proxy cluster-ips-check: ip daddr 10.96.0.0/16",
      "ip kube-proxy service-endpoints-check: ip daddr . meta l4proto . th dport vmap @no-endpoint-services",
    ]));
    expect(a.rules.some((r) => r.text.includes("@service-ips"))).toBe(false);
    const t = await ask(e, { type: "trace", text: "tcp 10.0.0.5:4000 -> 10.96.0.30:5432 in eth0" }, "trace");
    expect(t.ok && t.fates).toEqual(["rejected"]);
    const c = await ask(e, { type: "chain", ref: { family: "ipv4", table: "nft", chain: "services", nft: { family: "ip", table: "kube-proxy" } }, rule: 1 }, "chain");
    expect(c.place).toBe("ip kube-proxy services");
    expect(texts(c.rules)[0]).toBe("ip daddr . meta l4proto . th dport vmap @service-ips");
  });
});

describe("the trace as the page shows it", () => {
  it("escapes what the dump says, and each step opens its chain", async () => {
    const save = `*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m comment --comment "<img src=x onerror=alert(1)>" -m tcp --dport 22 -j DROP\nCOMMIT\n`;
    const node = nodeFromTexts({ rules: [{ file: "x.save", text: save }] }, { ifaces: ["eth0=10.0.0.2/24"] });
    const html = await renderTrace(node.evaluate(packet("tcp 10.0.0.1:1000 -> 10.0.0.2:22 in eth0")));
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain('class="red"');
    const refs = [...html.matchAll(/data-chain="([^"]*)"/g)].map((m) => JSON.parse(m[1]!.replace(/&quot;/g, '"')) as unknown);
    expect(refs).toEqual([{ ref: { family: "ipv4", table: "filter", chain: "INPUT" }, rule: 1 }]);
  });

  it("shows the text uncoloured rather than let a marker character from the input open a span", async () => {
    const save = `*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m comment --comment "a\uE000red\uE001b" -m tcp --dport 22 -j DROP\nCOMMIT\n`;
    const node = nodeFromTexts({ rules: [{ file: "x.save", text: save }] }, { ifaces: ["eth0=10.0.0.2/24"] });
    const html = await renderTrace(node.evaluate(packet("tcp 10.0.0.1:1000 -> 10.0.0.2:22 in eth0")));
    expect(html).toContain("a\uE000red\uE001b");
    expect(html).not.toMatch(/<span class="red">b/);
  });
});
