/**
 * How a dump is read: grammar/read-line.ts loads the grammar in the run that first needs it
 * (no retry of the command), a pasted dump's rules stay unbound until loaded and then carry
 * file positions, and chain rules are an explicit source (model/chain-rules.ts).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { readSaveLine } from "../../grammar/read-line.js";
import { readInput } from "../../src/inputs.js";
import { parseRules } from "../../src/parse.js";
import { boundRules } from "../../src/model/chain-rules.js";
import { saveText } from "../../src/print/save.js";
import { toJson } from "../../src/cli/render-json.js";
import type { Chain, Ruleset } from "../../src/model/ast.js";

const root = resolve(import.meta.dirname, "../..");
const dist = resolve(root, "dist/src/parse.js");
const cli = resolve(root, "dist/src/cli/main.js");

function rulesetOf(text: string, file: string): Ruleset {
  const r = readInput(text, { file, format: "auto" });
  const input = r.input.kind === "mixed" ? r.input.blocks[0]!.input : r.input;
  if (input.kind !== "rules") throw new Error(`no rules in ${file}`);
  return input.ruleset;
}

const chain = (rs: Ruleset, name: string): Chain => rs.tables.flatMap((t) => t.chains).find((c) => c.name === name)!;

describe("the grammar", () => {
  it("reads what the scanner declines, with where its errors are", () => {
    const errors: unknown[] = [];
    // A no-break space is no separator to iptables-restore: the grammar refuses it.
    const text = "-A INPUT -j\u00a0DROP";
    const l = readSaveLine(text, 0, text.length, 4, (e) => errors.push(e));
    expect(errors).toEqual([{ line: 4, col: 12, message: 'unexpected character "\u00a0"' }]);
    expect(l).toMatchObject({ kind: "command", line: 4, args: [{ value: "-A" }, { value: "INPUT" }, { value: "-j" }, { value: "DROP", col: 13 }] });
    expect(readSaveLine("  \f ", 0, 4, 1, () => {})).toBeNull();
  });

  it.skipIf(!existsSync(dist))("is loaded by the parse that needs it, and not before", () => {
    const code = `
      import { createRequire } from "node:module";
      const require = createRequire(import.meta.url);
      const { parseRules } = await import(${JSON.stringify(dist)});
      const loaded = () => Object.keys(require.cache).some((k) => k.includes("chevrotain"));
      const plain = parseRules("*filter\\n-A INPUT -j DROP\\nCOMMIT\\n").value.tables[0].chains[0].rules.count;
      const before = loaded();
      const odd = parseRules("*filter\\n-A INPUT\\f-j DROP\\nCOMMIT\\n").value.tables[0].chains[0].rules.count;
      console.log(JSON.stringify({ plain, before, odd, after: loaded() }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ plain: 1, before: false, odd: 1, after: true });
  });

  it.skipIf(!existsSync(cli))("is imported up front where Node cannot require an ES module, with the same answers", () => {
    const text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT\f-p tcp -j DROP\n-A INPUT -m comment --comment \"open -j ACCEPT\nCOMMIT\n";
    const run = (flags: string[]) => spawnSync(process.execPath, [...flags, cli, "parse", "-"], { encoding: "utf8", input: text });
    const now = run([]);
    const old = run(["--no-experimental-require-module"]);
    expect(now.stdout).toContain("-A INPUT -p tcp -j DROP");
    expect(now.stderr).toContain("unterminated quoted string");
    expect([old.status, old.stdout, old.stderr]).toEqual([now.status, now.stdout, now.stderr]);
  });
});

describe("a pasted dump", () => {
  const dump = "*filter\n:INPUT ACCEPT [0:0]\n:X - [0:0]\n-A INPUT -j X\n-A X -s 10.0.0.1/32 -j DROP\nCOMMIT\n";
  const pasted = `My rules:\n\n\`\`\`\n${dump}\`\`\`\nWhy?\n`;

  it("keeps its rules unbound until they are loaded, then with file positions", () => {
    const rs = rulesetOf(pasted, "issue.md");
    const x = chain(rs, "X");
    // Moving spans used to walk the AST and bind every chain.
    expect(x.rules.loaded()).toBe(false);
    expect(x.span).toMatchObject({ line: 6, col: 1 });
    expect(x.rules.load()[0]!.span.line).toBe(8);
    expect(x.rules.load()[0]!.source).toMatchObject({ address: "10.0.0.1" });
    // The same rules as the dump read alone, three lines down.
    const alone = chain(rulesetOf(dump, "d.save"), "X").rules.load();
    expect(alone[0]!.span.line).toBe(5);
    expect(saveText(rs)).toBe(saveText(rulesetOf(dump, "d.save")));
  });

  it("in a listing, too", () => {
    const listing = "Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination\nX          all  --  0.0.0.0/0            0.0.0.0/0\n\nChain X (1 references)\ntarget     prot opt source               destination\nDROP       all  --  10.0.0.1             0.0.0.0/0\n";
    const rs = rulesetOf(`Output:\n\n${listing.replace(/^/gm, "    ")}\nThanks\n`, "issue.md");
    const x = chain(rs, "X");
    expect(x.rules.loaded()).toBe(false);
    expect(x.rules.load()[0]).toMatchObject({ span: { line: 9, col: 5 }, target: { verdict: "DROP" } });
  });
});

describe("a chain's rules", () => {
  it("are bound by load() once, and print and serialise as the rules", () => {
    const rs = parseRules("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n").value;
    const input = chain(rs, "INPUT");
    expect(input.rules.count).toBe(2);
    expect(input.rules.digest()).toMatchObject({ count: 2, matchNames: ["tcp"] });
    expect(input.rules.loaded()).toBe(false);
    const first = input.rules.load();
    expect(input.rules.load()).toBe(first);
    expect(JSON.parse(toJson(input.rules))).toEqual(JSON.parse(toJson(first)));
    input.rules = boundRules(first.slice(1));
    expect(saveText(rs)).toContain(":OUTPUT ACCEPT [0:0]\n-A INPUT -j DROP\nCOMMIT");
  });
});
