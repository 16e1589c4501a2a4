/**
 * Where a script's rules end up: `add`/`insert` with and without `index N` or `position H`,
 * `replace ... handle H`, `delete ... handle H`, `flush chain`, read from an `nft -f` script
 * and (for what JSON commands can say) from `nft -j -f` commands, against a plain array that
 * does each command as nft's manual says (add after, insert before; a replaced rule keeps its
 * handle). The readers keep the chain in blocks so that such commands stay cheap on long
 * chains; this holds them to the obvious model, on chains long enough to span many blocks.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseNftText } from "../../src/nft/text/index.js";
import { parseNftJson } from "../../src/nft/json/index.js";
import type { NftRuleset } from "../../src/model/nft.js";

type Command =
  | { op: "add" | "insert"; at?: { by: "index" | "position"; n: number } }
  | { op: "replace" | "delete"; handle: number }
  | { op: "flush" };

/** Positions near the front as often as anywhere: a block splits only when many land in it. */
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<Command>({ op: "add" }, { op: "insert" }) },
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom<"add" | "insert">("add", "insert"), fc.constantFrom<"index" | "position">("index", "position"), fc.oneof(fc.nat(1200), fc.nat(16))).map(([op, by, n]) => ({ op, at: { by, n } }) as Command) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom<"replace" | "delete">("replace", "delete"), fc.nat(1200)).map(([op, handle]) => ({ op, handle }) as Command) },
  { weight: 1, arbitrary: fc.constant<Command>({ op: "flush" }) },
);

/** A rule is told apart by the mark it matches: the listing's rule with handle h matches h, the script's k-th rule 100000 + k. */
interface Model {
  rules: { mark: number; handle?: number }[];
  /** Commands nft refuses: a handle or index the chain does not have. */
  refused: number;
}

function apply(m: Model, cmds: Command[]): Model {
  let rules = [...m.rules];
  let refused = m.refused;
  cmds.forEach((c, k) => {
    const rule = { mark: 100000 + k };
    if (c.op === "flush") return void (rules = []);
    if ("handle" in c) {
      const i = rules.findIndex((r) => r.handle === c.handle);
      if (i < 0) return void refused++;
      if (c.op === "delete") rules.splice(i, 1);
      else rules[i] = { ...rule, handle: c.handle };
      return;
    }
    if (!c.at) return void (c.op === "add" ? rules.push(rule) : rules.unshift(rule));
    const i = c.at.by === "index" ? (c.at.n < rules.length ? c.at.n : -1) : rules.findIndex((r) => r.handle === c.at!.n);
    if (i >= 0) rules.splice(c.op === "add" ? i + 1 : i, 0, rule);
    else refused++;
  });
  return { rules, refused };
}

function listing(handles: number[]): string {
  const rules = handles.map((h) => `\t\tmeta mark 0x${h.toString(16).padStart(8, "0")} counter packets 0 bytes 0 # handle ${h}\n`).join("");
  return `table ip t { # handle 1\n\tchain c { # handle 1\n${rules}\t}\n}\n`;
}

function script(cmds: Command[]): string {
  return cmds
    .map((c, k) => {
      const body = `meta mark 0x${(100000 + k).toString(16).padStart(8, "0")} counter`;
      if (c.op === "flush") return "flush chain ip t c";
      if (!("handle" in c)) return `${c.op} rule ip t c${c.at ? ` ${c.at.by} ${c.at.n}` : ""} ${body}`;
      return c.op === "delete" ? `delete rule ip t c handle ${c.handle}` : `replace rule ip t c handle ${c.handle} ${body}`;
    })
    .join("\n");
}

function marksOf(rs: NftRuleset): { mark: number; handle?: number }[] {
  const chain = rs.tables[0]!.chains[0]!;
  return chain.rules.map((r) => {
    const s = r.stmts[0]!;
    if (s.kind !== "match" || s.right.kind !== "const") throw new Error("not a mark match");
    return { mark: Number(s.right.value), ...(r.handle !== undefined && { handle: r.handle }) };
  });
}

describe("rule order of nft scripts", () => {
  it("a listing with handles and then commands: the text reader places every rule as the model does", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1100 }), fc.array(command, { minLength: 200, maxLength: 1500 }), (n, cmds) => {
        const handles = Array.from({ length: n }, (_, i) => 2 + i);
        const { ruleset, diagnostics } = parseNftText(`${listing(handles)}${script(cmds)}\n`, "order.nft");
        const want = apply({ rules: handles.map((h) => ({ mark: h, handle: h })), refused: 0 }, cmds);
        expect(marksOf(ruleset)).toEqual(want.rules);
        expect(diagnostics.filter((d) => d.severity === "error")).toHaveLength(want.refused);
      }),
      { numRuns: 60 },
    );
  });

  it("many rules put beside one place, then each rule of the listing found by its handle", () => {
    // Hundreds of inserts into one block split it, moving rules the later commands look up.
    const handles = Array.from({ length: 1000 }, (_, i) => 2 + i);
    const cmds: Command[] = [
      ...Array.from({ length: 700 }, (_, k): Command => ({ op: k % 2 ? "insert" : "add", at: { by: k % 3 ? "index" : "position", n: k % 3 ? 3 + (k % 5) : 2 + (k % 7) } })),
      ...handles.filter((h) => h % 3 === 0).map((h): Command => ({ op: "add", at: { by: "position", n: h } })),
      ...handles.filter((h) => h % 2 === 0).map((h): Command => ({ op: h % 4 ? "delete" : "replace", handle: h })),
      ...handles.filter((h) => h % 5 === 0).map((h): Command => ({ op: "insert", at: { by: "position", n: h } })),
    ];
    const { ruleset, diagnostics } = parseNftText(`${listing(handles)}${script(cmds)}\n`, "order.nft");
    const want = apply({ rules: handles.map((h) => ({ mark: h, handle: h })), refused: 0 }, cmds);
    expect(want.refused).toBeGreaterThan(0);
    expect(marksOf(ruleset)).toEqual(want.rules);
    expect(diagnostics.filter((d) => d.severity === "error")).toHaveLength(want.refused);
  });

  it("JSON commands (add, insert, by index) place every rule as the model does", () => {
    const jsonCommand = command.filter((c) => (c.op === "add" || c.op === "insert") && c.at?.by !== "position");
    fc.assert(
      fc.property(fc.array(jsonCommand, { minLength: 200, maxLength: 1500 }), (cmds) => {
        const items: unknown[] = [{ add: { table: { family: "ip", name: "t" } } }, { add: { chain: { family: "ip", table: "t", name: "c" } } }];
        cmds.forEach((c, k) => {
          if (c.op !== "add" && c.op !== "insert") return;
          const rule = { family: "ip", table: "t", chain: "c", ...(c.at && { index: c.at.n }), expr: [{ match: { op: "==", left: { meta: { key: "mark" } }, right: 100000 + k } }] };
          items.push({ [c.op]: { rule } });
        });
        const { ruleset } = parseNftJson(JSON.stringify({ nftables: items }), "order.json");
        expect(marksOf(ruleset)).toEqual(apply({ rules: [], refused: 0 }, cmds).rules);
      }),
      { numRuns: 40 },
    );
  });
});
