/**
 * `-m u32 --u32 TESTS`: tests on 32-bit words read at offsets of the packet. iptables stores
 * the parsed numbers and operators, so save and `-L` print them back in hex (`0>>22` →
 * `0x0>>0x16`), always quoted. The packet model has no payload or raw header bytes:
 * evaluation is indeterminate.
 */
import type { MatchExtension } from "../types.js";
import { parseUnsigned } from "../util.js";

export type U32Op = "&" | "<<" | ">>" | "@";

export interface U32Test {
  /** The first number, then operator/number pairs, as the kernel's `location` array. */
  location: { op?: U32Op; n: number }[];
  values: { min: number; max: number }[];
}

export interface U32Data {
  negated: boolean;
  tests: U32Test[];
}

/** XT_U32_MAXSIZE: at most this many tests, numbers per location, and values per test. */
const MAX = 10;

/** The tests as iptables prints them: every number in hex, quoted. */
export function u32Text(tests: U32Test[]): string {
  const hx = (n: number) => "0x" + n.toString(16);
  const t = tests.map((x) => {
    const loc = x.location.map((l) => (l.op ?? "") + hx(l.n)).join("");
    return `${loc}=${x.values.map((v) => (v.min === v.max ? hx(v.min) : `${hx(v.min)}:${hx(v.max)}`)).join(",")}`;
  });
  return `"${t.join("&&")}"`;
}

/**
 * Reads a u32 expression as libxt_u32 does (numbers like strtoul with base 0, spaces allowed
 * between tokens). Returns the tests, or the tool's message with the 0-based character position.
 */
export function parseU32(text: string): U32Test[] | { at: number; message: string } {
  let i = 0;
  const tests: U32Test[] = [];
  let cur: U32Test = { location: [], values: [] };
  let readingValues = false;
  const skip = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const number = (): number | undefined => {
    skip();
    const m = /^(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(text.slice(i));
    if (!m) return undefined;
    const v = parseUnsigned(m[0]);
    if (v === undefined) return undefined;
    i += m[0].length;
    return v;
  };
  const fail = (message: string) => ({ at: i, message: `u32: at char ${i}: ${message}` });
  for (;;) {
    skip();
    if (i >= text.length) {
      if (!readingValues) return { at: i, message: "u32: abrupt end of input after location specifier" };
      if (cur.values.length === 0) return { at: i, message: "u32: test ended with no value specified" };
      tests.push(cur);
      if (tests.length > MAX) return fail('too many "&&"s');
      return tests;
    }
    if (!readingValues) {
      if (text[i] === "=") {
        if (cur.location.length === 0) return fail("location spec missing");
        i++;
        readingValues = true;
        continue;
      }
      let op: U32Op | undefined;
      if (cur.location.length > 0) {
        const c = text[i]!;
        if (c === "&" || c === "@") op = c;
        else if (c === "<" || c === ">") {
          i++;
          if (text[i] !== c) return fail(`a second '${c}' was expected`);
          op = c === "<" ? "<<" : ">>";
        } else return fail("operator expected");
        i++;
      }
      const n = number();
      if (n === undefined) return fail("not a number or out of range");
      cur.location.push(op ? { op, n } : { n });
      if (cur.location.length > MAX) return fail("too many operators");
    } else if (text[i] === "&") {
      i++;
      if (text[i] !== "&") return fail("a second '&' was expected");
      if (cur.values.length === 0) return fail("value spec missing");
      tests.push(cur);
      if (tests.length >= MAX + 1) return fail('too many "&&"s');
      cur = { location: [], values: [] };
      readingValues = false;
      i++;
    } else {
      if (cur.values.length > 0) {
        if (text[i] !== ",") return fail('expected "," or "&&"');
        i++;
      }
      const min = number();
      if (min === undefined) return fail("not a number or out of range");
      skip();
      let max = min;
      if (text[i] === ":") {
        i++;
        const m = number();
        if (m === undefined) return fail("not a number or out of range");
        max = m;
      }
      cur.values.push({ min, max });
      if (cur.values.length > MAX) return fail('too many ","s');
    }
  }
}

export const u32: MatchExtension<U32Data> = {
  type: "match",
  name: "u32",
  printPrefixes: ["u32"],
  options: [{ flags: ["--u32"], args: 1, negatable: true }],
  parse(options, ctx, span) {
    const o = options.find((x) => x.flag === "--u32");
    if (!o) return void ctx.error(span, "u32: --u32 is required", "--u32 TESTS");
    if (options.filter((x) => x.flag === "--u32").length > 1) return void ctx.error(options.filter((x) => x.flag === "--u32")[1]!.span, "u32: --u32 given more than once");
    const r = parseU32(o.values[0] ?? "");
    if (!Array.isArray(r)) return void ctx.error(o.span, r.message, "LOCATION=VALUE[&&LOCATION=VALUE...]", o.values[0]);
    return { negated: o.negated, tests: r };
  },
  save(d) {
    return `${d.negated ? " !" : ""} --u32 ${u32Text(d.tests)}`;
  },
  print(d) {
    return ` u32${d.negated ? " !" : ""} ${u32Text(d.tests)}`;
  },
  parsePrint(s) {
    const m = s.match(/u32( !)? "([^"]*)"(?= |$)/);
    if (!m) return undefined;
    const r = parseU32(m[2]!);
    return Array.isArray(r) ? { negated: m[1] !== undefined, tests: r } : undefined;
  },
  evaluate(d) {
    return { indeterminate: `u32: the packet's bytes at the offsets of ${u32Text(d.tests)} are not known (the packet is given as header fields, not bytes)` };
  },
};
