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
  it("rejects what it should (the schema is not vacuous)", () => {
    expect(validate({ version: 2, packet: {}, outcomes: [], problems: [] })).toBe(false);
    expect(validate({ version: 1, packet: { family: "ipv4", from: "eth0", dst: "1.2.3.4", proto: 6, mark: "0x0", state: "new" }, outcomes: [{ probability: 1, assumptions: [], fate: { kind: "vanished" }, steps: [], final: {} }], problems: [] })).toBe(false);
  });
});
