/** Access to ../shared (reference outputs, corpus, seeds), which CI always has beside the clone. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const SHARED = resolve(import.meta.dirname, "../../../shared");
export const hasShared = existsSync(join(SHARED, "reference"));

export function sharedPath(...p: string[]): string {
  return join(SHARED, ...p);
}

export function listShared(dir: string, suffix = ""): string[] {
  const d = sharedPath(dir);
  if (!existsSync(d)) return [];
  return readdirSync(d).filter((f) => f.endsWith(suffix)).sort();
}

/** Splits a reference file into its `## name` sections, bodies verbatim. */
export function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /^## (.*)$/gm;
  const heads: { name: string; start: number; bodyStart: number }[] = [];
  for (let m = re.exec(text); m; m = re.exec(text)) heads.push({ name: m[1]!, start: m.index, bodyStart: m.index + m[0].length + 1 });
  heads.forEach((h, i) => out.set(h.name, text.slice(h.bodyStart, i + 1 < heads.length ? heads[i + 1]!.start : text.length)));
  return out;
}

export function readShared(...p: string[]): string {
  return readFileSync(sharedPath(...p), "utf8");
}

export function sharedNotice(what: string): string {
  return `${what}: ../shared not found beside the checkout (${SHARED}); these tests need it and CI always has it`;
}

/** A test's title that says, when ../shared is missing, that and why it is skipped: the skip shows in the test output. */
export function needsShared(title: string): string {
  return hasShared ? title : `${title} (skipped: ${sharedNotice("this test")})`;
}
