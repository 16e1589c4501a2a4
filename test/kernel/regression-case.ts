/**
 * A disagreement between netfate and the kernel, kept as a file under samples/regressions/:
 * the node (the harness topology), the rules as loaded, the packet, and what the kernel did.
 * The differential test writes them; regressions.test.ts replays them.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { PacketSpec } from "../../src/model/packet.js";
import type { Topology } from "./harness.js";
import type { KernelAnswer } from "./compare.js";

export const REGRESSIONS = resolve(import.meta.dirname, "../../samples/regressions");

export interface RegressionCase {
  /** Where it came from (test, seed), and when. */
  found: string;
  topology: Topology;
  /** iptables-save text, as given to iptables-restore. */
  rules: string;
  packet: PacketSpec;
  /** The kernel's path in compare.ts's terms, or "send-failed" when it refused to send the packet. */
  kernel: string[] | "send-failed";
  /** Where the kernel's packet ended, when the case was found by comparing ends too (routing). */
  answer?: KernelAnswer;
  /** netfate's paths when the case was found, for the record. */
  netfate: string[][];
}

/** Writes a case (named by its content, so the same disagreement is one file) and returns its path. */
export function saveRegression(c: RegressionCase): string {
  mkdirSync(REGRESSIONS, { recursive: true });
  const hash = createHash("sha256").update(c.rules).update(JSON.stringify(c.packet)).update(JSON.stringify(c.topology)).digest("hex").slice(0, 12);
  const file = resolve(REGRESSIONS, `kernel-${hash}.json`);
  writeFileSync(file, JSON.stringify(c, null, 2) + "\n");
  return file;
}

export function loadRegressions(): Array<{ file: string; case: RegressionCase }> {
  let names: string[] = [];
  try {
    names = readdirSync(REGRESSIONS).filter((f) => f.endsWith(".json")).sort();
  } catch {
    return [];
  }
  return names.map((file) => ({ file, case: JSON.parse(readFileSync(resolve(REGRESSIONS, file), "utf8")) as RegressionCase }));
}
