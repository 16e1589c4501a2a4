/**
 * `jhash ip saddr . tcp sport mod 2 seed 0x1 offset 0`, `symhash mod 2`. nft lists a seed
 * that was given (in hex, `seed 0x0` too) and omits `offset 0`.
 *
 * Evaluated: the value depends on a seed (random unless given) and on the kernel's hash
 * function, which netfate does not compute: the N values are alternatives, each said, never
 * chances.
 */
import type { JsonNode } from "../../model/json.js";
import type { NftExpr, NftHash } from "../../model/nft.js";
import { boundValue, unknown, value, type NftExprEnv } from "../../model/nft-evaluation.js";
import { intOf, type Choice, type XVal } from "../../model/nft-values.js";
import { MAX_CHOICES } from "./numgen.js";
import { readUint, type ExprKind, type JsonExprReader } from "./types.js";

export const hash: ExprKind<NftHash> = {
  kind: "hash",
  keywords: ["jhash", "symhash"],
  starts(r) {
    return r.peek() === "jhash" || r.peek() === "symhash";
  },
  read(r) {
    const mode = r.take() as NftHash["mode"];
    const out: NftHash = { kind: "hash", mode, mod: 0, offset: 0 };
    if (mode === "jhash") {
      const e = r.readConcat();
      if (e === undefined) return undefined;
      out.expr = e;
    }
    if (r.peek() !== "mod") return r.fail("mod N");
    r.take();
    const mod = readUint(r.peek());
    if (mod === undefined || mod === 0) return r.fail("a modulus above 0");
    r.take();
    out.mod = mod;
    if (mode === "jhash" && r.peek() === "seed") {
      r.take();
      const s = readUint(r.peek());
      if (s === undefined) return r.fail("a seed");
      r.take();
      out.seed = s;
    }
    if (r.peek() === "offset") {
      r.take();
      const o = readUint(r.peek());
      if (o === undefined) return r.fail("an offset");
      r.take();
      out.offset = o;
    }
    return out;
  },
  jsonKeys: ["jhash", "symhash"],
  readJson,
  type() {
    return ["integer"];
  },
  print(e, sub) {
    let s = e.mode;
    if (e.expr) s += ` ${sub(e.expr)}`;
    s += ` mod ${e.mod}`;
    if (e.seed !== undefined) s += ` seed 0x${e.seed.toString(16)}`;
    if (e.offset) s += ` offset ${e.offset}`;
    return s;
  },
  evaluate,
};

/** `{"jhash": {"mod": 2, "seed": 1, "offset": 0, "expr": ...}}`, `{"symhash": {"mod": 2}}`. */
function readJson(key: string, v: JsonNode, _n: JsonNode, { r, sub }: JsonExprReader): NftHash | undefined {
  const mode = key as NftHash["mode"];
  const o = r.fields(v, `${mode} expression`);
  if (!o) return undefined;
  const mod = r.int(o, "mod", `${mode} expression`, 0, 0xffffffff);
  if (mod === undefined) return void r.error(v, `${mode} expression has no "mod"`, 'a "mod" number');
  const seed = r.int(o, "seed", `${mode} expression`, 0, 0xffffffff);
  const offset = r.int(o, "offset", `${mode} expression`, 0, 0xffffffff) ?? 0;
  const e = o.get("expr");
  const expr = e && sub(e.value, `${mode} key`);
  return { kind: "hash", mode, mod, offset, ...(seed !== undefined && { seed }), ...(expr && { expr }) };
}

function evaluate(e: NftHash, env: NftExprEnv, text: (e: NftExpr) => string): XVal {
  const bound = boundValue(env.bindings, e);
  if (bound !== undefined) return value(bound);
  let r = CHOICES.get(e);
  if (r === undefined) CHOICES.set(e, (r = choices(e, text(e))));
  return r;
}

/** What a hash gives, the same for every packet: worked out once per expression. */
const CHOICES = new WeakMap<NftHash, XVal>();

function choices(e: NftHash, what: string): XVal {
  if (e.mod <= 0 || e.mod > MAX_CHOICES) return unknown(`${what}: netfate does not compute ${e.mode}`);
  const list: Choice[] = [];
  for (let i = 0; i < e.mod; i++) {
    const v = intOf(e.offset + i);
    list.push({ val: v, label: `${what} gives ${v} (netfate does not compute ${e.mode}${e.seed === undefined ? "; its seed is random" : ""})` });
  }
  return { choose: list, expr: e };
}
