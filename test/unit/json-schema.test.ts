/** The JSON other programs rely on matches its documented schema. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { buildNode } from "../../src/netfilter/model.js";
import { evaluationJson } from "../../src/explain/json.js";
import { filterRuleset, packetArb } from "../support/arbitraries.js";
import { simpleNode } from "../support/simple-node.js";
import { parseNftText } from "../../src/nft/index.js";

const schema = JSON.parse(readFileSync(resolve(import.meta.dirname, "../../src/explain/trace.schema.json"), "utf8"));
const ajv = new Ajv2020.default({ allErrors: true, strict: false });
const validate = ajv.compile(schema);
const node = simpleNode({ addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });

describe("trace JSON schema", () => {
  it("every evaluation of random rulesets and packets validates, verbose or not", () => {
    fc.assert(fc.property(filterRuleset, packetArb, fc.boolean(), (rs, p, verbose) => {
      const j = evaluationJson(buildNode({ rulesets: [rs], node }).evaluate(p, { verbose }));
      const ok = validate(JSON.parse(JSON.stringify(j)));
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    }), { numRuns: 200 });
  });
  it("an nft trace validates, its steps saying the family their rules ask for", () => {
    const text = "table inet t {\n\tchain pre {\n\t\ttype filter hook prerouting priority filter; policy drop;\n\t\ticmpv6 type nd-neighbor-solicit accept\n\t\tip saddr 10.0.0.1 ip6 daddr ::1 accept\n\t}\n}\n";
    const n = buildNode({ rulesets: [], nft: [parseNftText(text, "rules.nft").ruleset] });
    const j = JSON.parse(JSON.stringify(evaluationJson(n.evaluate({ family: "ipv4", from: "eth0", src: "192.168.0.50", dst: "192.168.0.11", proto: 6, sport: 40000, dport: 22, tcpFlags: 2 }, { verbose: true }))));
    expect(j.outcomes[0].steps.map((s: { nft: { requires?: string } }) => s.nft.requires)).toEqual(["ipv6", "none", undefined]);
    validate(j);
    expect(validate.errors ?? []).toEqual([]);
  });
  it("rejects what it should (the schema is not vacuous)", () => {
    expect(validate({ version: 2, packet: {}, outcomes: [], problems: [] })).toBe(false);
    expect(validate({ version: 1, packet: { family: "ipv4", from: "eth0", dst: "1.2.3.4", proto: 6, mark: "0x0", state: "new" }, outcomes: [{ probability: 1, assumptions: [], fate: { kind: "vanished" }, steps: [], final: {} }], problems: [] })).toBe(false);
  });
});
