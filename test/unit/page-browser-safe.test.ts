/**
 * The trace figure is drawn in the browser too (a page that re-evaluates the packet redraws it
 * there), so `src/explain/page/figure.ts` and everything it loads must run without Node: no
 * `node:` module, no Node built-in, and no package but the browser-safe ones listed here.
 */
import { resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { readImportGraph } from "../support/import-graph.js";

const root = resolve(import.meta.dirname, "../..");
/** Packages that run in a browser as they are (elkjs: its bundled build, which needs no worker). */
const BROWSER_SAFE = new Set(["ipaddr.js", "elkjs/lib/elk.bundled.js"]);

describe("the trace figure runs in a browser", () => {
  it("loads no Node module, directly or through what it imports", () => {
    const g = readImportGraph(root, ["src"]);
    const seen = new Set<string>();
    const todo = ["src/explain/page/figure.ts"];
    const bad: string[] = [];
    while (todo.length) {
      const m = todo.pop()!;
      if (seen.has(m)) continue;
      seen.add(m);
      for (const e of g.out.get(m) ?? []) if (!e.typeOnly) todo.push(e.to);
      const sf = g.modules.get(m)!.sourceFile;
      for (const st of sf.statements) {
        if (!(ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) || !st.moduleSpecifier || !ts.isStringLiteral(st.moduleSpecifier)) continue;
        const spec = st.moduleSpecifier.text;
        const typeOnly = ts.isImportDeclaration(st) ? st.importClause?.isTypeOnly === true : st.isTypeOnly;
        if (spec.startsWith(".") || typeOnly) continue;
        if (!BROWSER_SAFE.has(spec)) bad.push(`${m} imports ${spec}`);
      }
    }
    expect(seen.has("src/explain/page/layout.ts")).toBe(true);
    expect(bad).toEqual([]);
  });
});
