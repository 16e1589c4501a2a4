/**
 * The block list against a plain array: any sequence of pushes, inserts at the front or at a
 * position, removals and replacements leaves the same items in the same order, and every item
 * is found where the array has it — on lists long enough to split and merge many blocks.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BlockList } from "../../src/block-list.js";

type Op = { op: "push" | "unshift" } | { op: "insert"; at: number } | { op: "remove" | "replace"; at: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constantFrom<Op>({ op: "push" }, { op: "unshift" }),
  fc.nat(8).map((at) => ({ op: "insert", at }) as Op),
  // Positions near the front as often as anywhere: a block splits only when many land in it.
  fc.tuple(fc.constantFrom<"insert" | "remove" | "replace">("insert", "insert", "remove", "replace"), fc.oneof(fc.nat(3000), fc.nat(8))).map(([o, at]) => ({ op: o, at }) as Op),
);

describe("BlockList", () => {
  it("keeps the order a plain array keeps, and knows where each item is", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1500, maxLength: 3000 }), (ops) => {
        const list = new BlockList<{ n: number }>();
        const model: { n: number }[] = [];
        ops.forEach((o, n) => {
          const x = { n };
          if (!("at" in o)) return void (o.op === "push" ? (list.push(x), model.push(x)) : (list.unshift(x), model.unshift(x)));
          const at = o.at % (model.length + (o.op === "insert" ? 1 : 0) || 1);
          if (o.op === "insert") return void (list.insertAt(at, x), model.splice(at, 0, x));
          const old = model[at];
          if (!old) return;
          expect(list.at(at)).toBe(old);
          if (o.op === "remove") return void (expect(list.remove(old)).toBe(true), model.splice(at, 1));
          list.replace(old, x);
          model[at] = x;
        });
        expect(list.toArray()).toEqual(model);
        expect([...list]).toEqual(model);
        expect(list.length).toBe(model.length);
        model.forEach((x, i) => expect(list.positionOf(x)).toBe(i));
        expect(list.positionOf({ n: -1 })).toBe(-1);
      }),
      { numRuns: 40, endOnFailure: true },
    );
  });
});
