/**
 * What the diff tests read: a file of the repository by its path from the root, and a dump
 * parsed with no error (a fixture that does not parse would make every finding meaningless).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect } from "vitest";
import { parseRules } from "../../src/parse.js";
import type { Ruleset } from "../../src/model/ast.js";

export const repoRoot = resolve(import.meta.dirname, "../..");

export const readRepo = (p: string): string => readFileSync(resolve(repoRoot, p), "utf8");

export function cleanRules(text: string): Ruleset {
  const r = parseRules(text);
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.value;
}
