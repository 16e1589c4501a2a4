/**
 * `numgen random mod 3`, `numgen inc mod 2 offset 1` (nft omits `offset 0` when listing).
 *
 * Evaluated: `numgen random mod N offset O` gives each of O..O+N-1 with chance 1/N
 * (nft_ng_random_eval: reciprocal_scale of a random u32, exact up to 2^-32). `numgen inc` is
 * a counter shared by every packet the rule sees; the input does not show where it stands, so
 * the N values are alternatives, not chances (a fresh rule's first packet gets O: checked in
 * a netns, test/kernel/nft-semantics.test.ts).
 */
import type { JsonNode } from "../../model/json.js";
import type { NftNumgen } from "../../model/nft.js";
import { boundValue, unknown, value, type NftExprEnv } from "../../model/nft-evaluation.js";
import { intOf, type Choice, type XVal } from "../../model/nft-values.js";
import { readUint, type ExprKind, type JsonExprReader } from "./types.js";

export const numgen: ExprKind<NftNumgen> = {
  kind: "numgen",
  keywords: ["numgen"],
  starts(r) {
    return r.peek() === "numgen";
  },
  read(r) {
    r.take();
    const mode = r.peek();
    if (mode !== "random" && mode !== "inc") return r.fail("random or inc after numgen");
    r.take();
    if (r.peek() !== "mod") return r.fail("mod N");
    r.take();
    const mod = readUint(r.peek());
    if (mod === undefined || mod === 0) return r.fail("a modulus above 0");
    r.take();
    let offset = 0;
    if (r.peek() === "offset") {
      r.take();
      const o = readUint(r.peek());
      if (o === undefined) return r.fail("an offset");
      r.take();
      offset = o;
    }
    return { kind: "numgen", mode, mod, offset };
  },
  jsonKeys: ["numgen"],
  readJson,
  type() {
    return ["integer"];
  },
  print: text,
  evaluate,
};

function text(e: NftNumgen): string {
  return `numgen ${e.mode} mod ${e.mod}${e.offset ? ` offset ${e.offset}` : ""}`;
}

/** `{"numgen": {"mode": "random", "mod": 2, "offset": 0}}`. */
function readJson(_key: string, v: JsonNode, _n: JsonNode, { r }: JsonExprReader): NftNumgen | undefined {
  const o = r.fields(v, "numgen expression");
  if (!o) return undefined;
  const mode = r.oneOf(o, "mode", "numgen expression", ["random", "inc"] as const);
  const mod = r.int(o, "mod", "numgen expression", 0, 0xffffffff);
  const offset = r.int(o, "offset", "numgen expression", 0, 0xffffffff) ?? 0;
  if (mode === null) return undefined;
  if (mode === undefined) return void r.error(v, 'numgen expression has no "mode"', '"random" or "inc"');
  if (mod === undefined) return void r.error(v, 'numgen expression has no "mod"', 'a "mod" number');
  return { kind: "numgen", mode, mod, offset };
}

/** More values than this are not spelled out one by one. */
export const MAX_CHOICES = 256;

function evaluate(e: NftNumgen, env: NftExprEnv): XVal {
  const bound = boundValue(env.bindings, e);
  if (bound !== undefined) return value(bound);
  let r = CHOICES.get(e);
  if (r === undefined) CHOICES.set(e, (r = choices(e)));
  return r;
}

/** What a numgen gives, the same for every packet: worked out once per expression. */
const CHOICES = new WeakMap<NftNumgen, XVal>();

function choices(e: NftNumgen): XVal {
  const what = text(e);
  if (e.mod <= 0) return unknown(`${what}: modulus 0`);
  if (e.mod > MAX_CHOICES) return unknown(`${what}: more than ${MAX_CHOICES} values are not followed one by one`);
  const list: Choice[] = [];
  for (let i = 0; i < e.mod; i++) {
    const v = intOf(e.offset + i);
    list.push(e.mode === "random"
      ? { val: v, probability: 1 / e.mod, label: `${what}: ${v}` }
      : { val: v, label: `${what} gives ${v} (where the counter stands is not in the input; a fresh rule's first packet gets ${e.offset})` });
  }
  return { choose: list, expr: e };
}
