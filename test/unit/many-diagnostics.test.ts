/**
 * A dump can have more bad lines, or one line more rules, than a JavaScript call takes
 * arguments (`push(...items)` throws past about 100k): every diagnostic and rule is kept.
 */
import { describe, expect, it } from "vitest";
import { assembleInputs } from "../../src/assemble.js";
import { parseRules } from "../../src/parse.js";

describe("more items than a call takes arguments", () => {
  it("200,000 bad lines: every one reported, the good rules still loaded", () => {
    const lines = ["*filter", ":INPUT ACCEPT [0:0]", "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"];
    for (let i = 0; i < 200_000; i++) lines.push(`-A INPUT -p tcp --dport no-such-port-${i} -j ACCEPT`);
    lines.push("COMMIT", "");
    const a = assembleInputs({ rules: [{ file: "bad.save", text: lines.join("\n") }], shortcuts: { ifaces: ["eth0=10.0.0.1/24"] } });
    const errors = a.diagnostics.filter((d) => d.severity === "error");
    expect(errors).toHaveLength(200_000);
    expect(errors[199_999]).toMatchObject({ line: 200_003, col: 17, found: "no-such-port-199999" });
    expect(a.rulesets[0]!.tables[0]!.chains[0]!.rules.load()).toHaveLength(1);
  });

  it("one -s list of 150,000 addresses, then -I: 150,001 rules in order", () => {
    const addrs = Array.from({ length: 150_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const text = `*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s ${addrs.join(",")} -j ACCEPT\n-I INPUT 2 -j DROP\nCOMMIT\n`;
    for (const deferRules of [true, false]) {
      const r = parseRules(text, { deferRules });
      expect(r.diagnostics).toEqual([]);
      const rules = r.value.tables[0]!.chains[0]!.rules.load();
      expect(rules).toHaveLength(150_001);
      expect(rules[1]!.target).toMatchObject({ verdict: "DROP" });
      expect(rules[150_000]!.source).toMatchObject({ address: "10.2.73.239" });
    }
  });
});
