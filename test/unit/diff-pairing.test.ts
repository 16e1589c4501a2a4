/**
 * A chain's change pairs a rule with its twin by the rule's dump line when both chains were
 * read from save dumps (chain-changes.ts, lineKeys): the change found so is the one found by
 * pairing the rules by what they say, counters or not.
 */
import { describe, expect, it } from "vitest";
import { ChainChanges, chainChange, type ChainChange } from "../../src/diff/chain-changes.js";
import type { Ruleset } from "../../src/model/ast.js";
import { kubeProxyPair } from "../../bench/diff.js";
import { cleanRules } from "../support/diff-inputs.js";

const chainRules = (rs: Ruleset, chain: string) => rs.tables.flatMap((t) => t.chains).find((c) => c.name === chain)!.rules.load();

/** The change's rules as their lines, to compare changes of differently read dumps. */
const lines = (c: ChainChange) => (typeof c === "string" ? c : { old: c.old.map((r) => r.span.line), new: c.new.map((r) => r.span.line) });

describe("pairing a chain's rules by their dump lines", () => {
  const pair = kubeProxyPair(400);

  for (const [label, newText] of [
    ["as dumped", pair.new],
    ["with counters on the new side", pair.new.replaceAll(/^-A /gm, "[7:420] -A ")],
  ] as const) {
    it(`finds the change that pairing by the rules finds (${label})`, () => {
      for (const chain of ["KUBE-SERVICES", "KUBE-NODEPORTS"]) {
        const a = cleanRules(pair.old);
        const b = cleanRules(newText);
        const byLines = new ChainChanges([a], [b], "ipv4").at("nat", chain);
        const byRules = chainChange(chainRules(a, chain), chainRules(b, chain));
        expect(typeof byLines).toBe("object");
        expect(lines(byLines)).toEqual(lines(byRules));
      }
    });
  }
});
