/**
 * The import graph of the TypeScript sources, read the way the compiler reads them (its own
 * parser, so an `import` inside a comment or a string is not an edge): static imports,
 * `export ... from`, dynamic `import()` and `import("...")` types, with relative specifiers
 * resolved to the files they name (`./x.js` is `./x.ts`). Packages (`chevrotain`, `node:fs`)
 * are not part of the graph.
 *
 * Used by test/unit/layers.test.ts, which holds the layering, the absence of cycles and the
 * extension boundary; kept apart so a script or another test can print the graph too.
 */
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

export interface ImportEdge {
  /** Repository-relative paths with forward slashes: `src/netfilter/compile.ts`. */
  from: string;
  to: string;
  /** 1-based line of the import in `from`. */
  line: number;
  /** `import type` / `export type` / an `import("...")` type: gone once compiled. */
  typeOnly: boolean;
  /** `await import("...")`: loaded when the code runs, not when the module loads. */
  dynamic: boolean;
}

export interface SourceModule {
  path: string;
  sourceFile: ts.SourceFile;
}

export interface ImportGraph {
  modules: Map<string, SourceModule>;
  edges: ImportEdge[];
  /** Edges leaving each module, in source order. */
  out: Map<string, ImportEdge[]>;
}

/** Every `.ts` file (not `.d.ts`) under the given directories of `root`. */
function tsFilesUnder(root: string, dir: string): string[] {
  const found: string[] = [];
  const walk = (abs: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const child = join(abs, name);
      if (statSync(child).isDirectory()) walk(child);
      else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) found.push(toRepoPath(root, child));
    }
  };
  walk(join(root, dir));
  return found;
}

function toRepoPath(root: string, abs: string): string {
  return relative(root, abs).split(sep).join("/");
}

/** `./x.js` from `src/a/b.ts` → `src/a/x.ts`; undefined for a package or a file that is not there. */
function resolveSpecifier(root: string, from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const abs = resolve(root, dirname(from), specifier);
  const candidates = [abs.replace(/\.js$/, ".ts"), abs, `${abs}.ts`, join(abs, "index.ts")];
  for (const c of candidates) if (existsSync(c) && statSync(c).isFile()) return toRepoPath(root, c);
  return undefined;
}

interface RawImport {
  specifier: string;
  pos: number;
  typeOnly: boolean;
  dynamic: boolean;
}

function importsOf(sf: ts.SourceFile): RawImport[] {
  const found: RawImport[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      // `import { type A, type B } from` is type-only too when every name is.
      const allNamedTypes =
        clause !== undefined &&
        clause.name === undefined &&
        clause.namedBindings !== undefined &&
        ts.isNamedImports(clause.namedBindings) &&
        clause.namedBindings.elements.length > 0 &&
        clause.namedBindings.elements.every((e) => e.isTypeOnly);
      found.push({
        specifier: node.moduleSpecifier.text,
        pos: node.getStart(sf),
        typeOnly: clause?.isTypeOnly === true || allNamedTypes,
        dynamic: false,
      });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, pos: node.getStart(sf), typeOnly: node.isTypeOnly, dynamic: false });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments.length > 0 &&
      ts.isStringLiteralLike(node.arguments[0]!)
    ) {
      found.push({ specifier: (node.arguments[0] as ts.StringLiteralLike).text, pos: node.getStart(sf), typeOnly: false, dynamic: true });
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg) && ts.isStringLiteral(arg.literal)) {
        found.push({ specifier: arg.literal.text, pos: node.getStart(sf), typeOnly: true, dynamic: false });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The graph of every module under `dirs` (relative to `root`), edges only between them. */
export function readImportGraph(root: string, dirs: readonly string[]): ImportGraph {
  const modules = new Map<string, SourceModule>();
  for (const dir of dirs) {
    for (const path of tsFilesUnder(root, dir)) {
      const text = readFileSync(join(root, path), "utf8");
      modules.set(path, { path, sourceFile: ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true) });
    }
  }
  const edges: ImportEdge[] = [];
  const out = new Map<string, ImportEdge[]>();
  for (const { path, sourceFile } of modules.values()) {
    const mine: ImportEdge[] = [];
    for (const imp of importsOf(sourceFile)) {
      const to = resolveSpecifier(root, path, imp.specifier);
      if (to === undefined || !modules.has(to)) continue;
      const line = sourceFile.getLineAndCharacterOfPosition(imp.pos).line + 1;
      mine.push({ from: path, to, line, typeOnly: imp.typeOnly, dynamic: imp.dynamic });
    }
    out.set(path, mine);
    edges.push(...mine);
  }
  return { modules, edges, out };
}

/**
 * The strongly connected components with more than one module (or a module importing
 * itself): each is a set of modules that import each other, directly or not. Tarjan's
 * algorithm, iterative so a deep graph cannot overflow the stack.
 */
export function cyclicComponents(graph: ImportGraph, follow: (e: ImportEdge) => boolean = () => true): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  const next = (m: string): string[] => (graph.out.get(m) ?? []).filter(follow).map((e) => e.to);

  for (const start of [...graph.modules.keys()].sort()) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; children: string[]; i: number }> = [];
    const enter = (node: string): void => {
      index.set(node, counter);
      low.set(node, counter);
      counter++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, children: next(node), i: 0 });
    };
    enter(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      if (frame.i < frame.children.length) {
        const child = frame.children[frame.i++]!;
        if (!index.has(child)) enter(child);
        else if (onStack.has(child)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(child)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let m: string;
        do {
          m = stack.pop()!;
          onStack.delete(m);
          component.push(m);
        } while (m !== frame.node);
        const selfLoop = next(frame.node).includes(frame.node);
        if (component.length > 1 || selfLoop) components.push(component.sort());
      }
    }
  }
  return components.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/**
 * One shortest cycle through `start` inside `component`, as the path of modules
 * (`a → b → a`): what to read to see why the component is one. Breadth-first, so linear in
 * the component's edges.
 */
export function shortestCycleThrough(
  graph: ImportGraph,
  component: readonly string[],
  start: string,
  follow: (e: ImportEdge) => boolean = () => true,
): string[] {
  const inside = new Set(component);
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const m = queue[head]!;
    for (const e of graph.out.get(m) ?? []) {
      if (!follow(e) || !inside.has(e.to)) continue;
      if (e.to === start) {
        const back = [m];
        while (back[back.length - 1] !== start) back.push(cameFrom.get(back[back.length - 1]!)!);
        return [...back.reverse(), start];
      }
      if (!cameFrom.has(e.to) && e.to !== start) {
        cameFrom.set(e.to, m);
        queue.push(e.to);
      }
    }
  }
  return [];
}

/**
 * Where a module names an extension: a string literal equal to one of `names` used as an
 * extension's name, which is what "switching on an extension's name" looks like in code.
 * Match names double as protocol names (`tcp`), packet fields (`mark`, `ttl`) and plain
 * words (`string`, `policy`), so a literal alone proves nothing; it names an extension when
 *   - it is compared (`===`, `!==`) with a name (`x.name`, `name`, `targetName`...),
 *   - it is a `case` of a `switch` on a name,
 *   - it is the name looked up with findMatch/findTarget/targetsListedAs,
 *   - it is an element of a list or Set literal whose membership is tested with a name
 *     (`LIST.has(m.name)`, or `names.some((n) => LIST.has(n))` over a list of names).
 */
export function extensionNamesUsed(module: SourceModule, names: ReadonlySet<string>): Array<{ name: string; line: number }> {
  const sf = module.sourceFile;
  const found: Array<{ name: string; line: number }> = [];
  const report = (lit: ts.Node & { text: string }): void => {
    if (names.has(lit.text)) found.push({ name: lit.text, line: sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1 });
  };
  const isLiteral = (n: ts.Node): n is ts.StringLiteral | ts.NoSubstitutionTemplateLiteral =>
    ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n);
  const strip = (n: ts.Expression): ts.Expression => {
    let e = n;
    while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isNonNullExpression(e) || ts.isSatisfiesExpression(e)) e = e.expression;
    return e;
  };
  const NAME = /^(name|[a-z][A-Za-z]*Name)$/;
  const NAMES = /^(names|[a-z][A-Za-z]*Names)$/;
  const lastName = (n: ts.Expression): string | undefined => {
    const e = strip(n);
    if (ts.isIdentifier(e)) return e.text;
    if (ts.isPropertyAccessExpression(e)) return e.name.text;
    return undefined;
  };
  const isName = (n: ts.Expression): boolean => NAME.test(lastName(n) ?? "");
  const isNames = (n: ts.Expression): boolean => NAMES.test(lastName(n) ?? "");

  // Identifiers bound to one element of a list of names: `(n) => ...` passed to a method of
  // `x.matchNames`, or `for (const n of targetNames)`.
  const nameBindings = new Set<ts.Node>();
  const collections = new Map<string, ts.ArrayLiteralExpression>();
  const collect = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && isNames(node.expression.expression)) {
      for (const arg of node.arguments) {
        if ((ts.isArrowFunction(arg) || ts.isFunctionExpression(arg)) && arg.parameters[0] && ts.isIdentifier(arg.parameters[0].name)) {
          nameBindings.add(arg.parameters[0].name);
        }
      }
    }
    if (ts.isForOfStatement(node) && isNames(node.expression) && ts.isVariableDeclarationList(node.initializer)) {
      const d = node.initializer.declarations[0];
      if (d && ts.isIdentifier(d.name)) nameBindings.add(d.name);
    }
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      let init = strip(node.initializer);
      if (ts.isNewExpression(init) && init.arguments?.length === 1) init = strip(init.arguments[0]!);
      if (ts.isArrayLiteralExpression(init)) collections.set(node.name.text, init);
    }
    ts.forEachChild(node, collect);
  };
  collect(sf);
  const boundToName = (n: ts.Expression): boolean => {
    const e = strip(n);
    if (isName(e)) return true;
    if (!ts.isIdentifier(e)) return false;
    for (const b of nameBindings) if ((b as ts.Identifier).text === e.text) return true;
    return false;
  };

  const testedWithName = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isBinaryExpression(node)) {
      const op = node.operatorToken.kind;
      if (
        op === ts.SyntaxKind.EqualsEqualsEqualsToken ||
        op === ts.SyntaxKind.ExclamationEqualsEqualsToken ||
        op === ts.SyntaxKind.EqualsEqualsToken ||
        op === ts.SyntaxKind.ExclamationEqualsToken
      ) {
        if (isLiteral(node.right) && boundToName(node.left)) report(node.right);
        if (isLiteral(node.left) && boundToName(node.right)) report(node.left);
      }
    } else if (ts.isCaseClause(node) && isLiteral(node.expression)) {
      const sw = node.parent.parent;
      if (ts.isSwitchStatement(sw) && boundToName(sw.expression)) report(node.expression);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const fn = ts.isIdentifier(callee) ? callee.text : undefined;
      const first = node.arguments[0];
      if ((fn === "findMatch" || fn === "findTarget" || fn === "targetsListedAs") && first && isLiteral(first)) report(first);
      if (
        ts.isPropertyAccessExpression(callee) &&
        ts.isIdentifier(callee.expression) &&
        ["has", "includes", "indexOf"].includes(callee.name.text) &&
        first &&
        boundToName(first)
      ) {
        testedWithName.add(callee.expression.text);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  for (const c of testedWithName) {
    const list = collections.get(c);
    if (list) for (const el of list.elements) if (isLiteral(el)) report(el);
  }
  return found.sort((a, b) => a.line - b.line || a.name.localeCompare(b.name));
}

/**
 * Where a module tells an AST node's kind apart by one of `kinds`: a string literal compared
 * (`===`, `!==`) with a `.kind` property (`s.kind === "nat"`), or a `case` of a switch on one.
 * A plain variable named `kind` is something else (a log line's kind, an object's type).
 */
export function nodeKindsTested(module: SourceModule, kinds: ReadonlySet<string>): Array<{ name: string; line: number }> {
  const sf = module.sourceFile;
  const found: Array<{ name: string; line: number }> = [];
  const isLiteral = (n: ts.Node): n is ts.StringLiteral | ts.NoSubstitutionTemplateLiteral =>
    ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n);
  const isKind = (n: ts.Expression): boolean => {
    let e = n;
    while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isNonNullExpression(e)) e = e.expression;
    return (ts.isPropertyAccessExpression(e) && e.name.text === "kind") || (ts.isElementAccessExpression(e) && isLiteral(e.argumentExpression) && e.argumentExpression.text === "kind");
  };
  const report = (lit: ts.StringLiteral | ts.NoSubstitutionTemplateLiteral): void => {
    if (kinds.has(lit.text)) found.push({ name: lit.text, line: sf.getLineAndCharacterOfPosition(lit.getStart(sf)).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isBinaryExpression(node)) {
      const op = node.operatorToken.kind;
      if (op === ts.SyntaxKind.EqualsEqualsEqualsToken || op === ts.SyntaxKind.ExclamationEqualsEqualsToken || op === ts.SyntaxKind.EqualsEqualsToken || op === ts.SyntaxKind.ExclamationEqualsToken) {
        if (isLiteral(node.right) && isKind(node.left)) report(node.right);
        if (isLiteral(node.left) && isKind(node.right)) report(node.left);
      }
    } else if (ts.isCaseClause(node) && isLiteral(node.expression)) {
      const sw = node.parent.parent;
      if (ts.isSwitchStatement(sw) && isKind(sw.expression)) report(node.expression);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found.sort((a, b) => a.line - b.line || a.name.localeCompare(b.name));
}
