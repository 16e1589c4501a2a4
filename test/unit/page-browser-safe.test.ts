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

/** The packages a module loads when it runs: static imports and re-exports, and `import()` calls; type-only ones are not loaded. */
function packagesLoaded(sf: ts.SourceFile): string[] {
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      const typeOnly = ts.isImportDeclaration(n) ? n.importClause?.isTypeOnly === true : n.isTypeOnly;
      if (!typeOnly) out.push(n.moduleSpecifier.text);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) {
      out.push(n.arguments[0].text);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out.filter((s) => !s.startsWith("."));
}

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
      for (const spec of packagesLoaded(g.modules.get(m)!.sourceFile)) if (!BROWSER_SAFE.has(spec)) bad.push(`${m} imports ${spec}`);
    }
    expect(seen.has("src/explain/page/layout.ts")).toBe(true);
    expect(bad).toEqual([]);
  });
});
