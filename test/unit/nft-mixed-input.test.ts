/**
 * A text that pastes an nft listing beside iptables-save output (an issue showing both halves of
 * an iptables-nft node): both are read, in either order, and neither reader's lines are called
 * skipped because they are the other's.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { nftOf, readInput, rulesetsOf } from "../../src/inputs.js";

const dir = resolve(import.meta.dirname, "../../samples/009-iptables-nft-mixed");
const save = readFileSync(resolve(dir, "iptables.save"), "utf8");
const listing = readFileSync(resolve(dir, "ruleset.nft"), "utf8");
const native = listing.slice(listing.indexOf("table inet filter"));

describe("nft and iptables dumps in one text", () => {
  for (const [name, text] of [
    ["iptables-save, then a prompt and nft list ruleset", `${save}\n$ nft list ruleset\n${native}`],
    ["nft list ruleset, then iptables-save", `${native}\n${save}`],
  ] as const) {
    it(name, () => {
      const r = readInput(text, { file: "issue.txt" });
      expect(r.diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
      expect(r.diagnostics.map((d) => d.message).join("\n")).not.toMatch(/skipped|set aside/);
      expect(rulesetsOf(r.input).flatMap((rs) => rs.tables.map((t) => t.name))).toEqual(["mangle", "filter", "nat"]);
      expect(nftOf(r.input).flatMap((rs) => rs.tables.map((t) => `${t.family} ${t.name}`))).toEqual(["inet filter", "inet lanmark"]);
    });
  }
});
