/**
 * The packet text reader's cheaper ways (a word scanner instead of a pattern's matches, a colon
 * search instead of splitting twice, a bracket pattern tried only on `[`, remembered interface
 * name checks) read every text as before.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { endpoint, parsePacketText, splitWords } from "../../src/packet/parse.js";
import { interfaceNameProblem } from "../../src/facts/interface-name.js";
import { addressFamily, canonicalAddress } from "../../src/model/address.js";
import { portNumber } from "../../src/packet/checks.js";

/** The reading before: the pattern's words and columns. */
function wordsByPattern(text: string): { words: string[]; cols: number[] } {
  const words: string[] = [];
  const cols: number[] = [];
  for (const m of text.matchAll(/\S+/g)) {
    words.push(m[0]);
    cols.push(m.index! + 1);
  }
  return { words, cols };
}

/** The endpoint reading before (split on every colon, the bracket pattern always). */
function endpointBefore(s: string) {
  let host = s;
  let port: string | undefined;
  const br = /^\[([^\]]+)\](?::([^:]*))?$/.exec(s);
  if (br) {
    host = br[1]!;
    port = br[2];
  } else if (s.split(":").length === 2) {
    [host, port] = s.split(":") as [string, string];
  }
  const f = addressFamily(host);
  if (!f) return `${JSON.stringify(s)} is not an address (expected ADDR or ADDR:PORT, [IPv6]:PORT)`;
  const out: { addr: string; port?: number; family: string } = { addr: canonicalAddress(host, f), family: f };
  if (port !== undefined) {
    const n = portNumber(port);
    if (n === undefined) return `bad port ${JSON.stringify(port)} (expected 0-65535)`;
    out.port = n;
  }
  return out;
}

const spaces = fc.constantFrom(" ", "\t", "\n", "\v", "\f", "\r", "\u00a0", "\u2028", "\u3000", "\ufeff", "\u200b", "\u0085", "\u1680");
const piece = fc.oneof(spaces, fc.constantFrom("tcp", "->", "10.0.0.1:80", "[::1]:53", "in", "eth0", "é", "\ud83d\ude00", "\ud800"), fc.string({ maxLength: 4 }));
const endpointText = fc.oneof(
  fc.array(fc.constantFrom("[", "]", ":", "1", "0", ".", "::", "a", "f", "8", "65536", "10.0.0.1", "::1", "%eth0"), { maxLength: 7 }).map((p) => p.join("")),
  fc.string({ maxLength: 12 }),
);

describe("packet text read the cheaper way", () => {
  it("words and columns are the pattern's", () => {
    fc.assert(fc.property(fc.array(piece, { maxLength: 12 }).map((p) => p.join("")), (text) => {
      const words: string[] = [];
      const cols: number[] = [];
      splitWords(text, words, cols);
      expect({ words, cols }).toEqual(wordsByPattern(text));
    }), { numRuns: 500 });
  });

  it("endpoints read as before", () => {
    for (const s of ["1.2.3.4", "1.2.3.4:80", "1.2.3.4:", ":80", "[::1]:80", "[::1]", "[::1", "::1", "2001:db8::1", "[1.2.3.4]:5", "[]:1", "1.2.3.4:80:90", "[::1]:8:0"]) {
      expect(endpoint(s)).toEqual(endpointBefore(s));
    }
    fc.assert(fc.property(endpointText, (s) => {
      expect(endpoint(s)).toEqual(endpointBefore(s));
    }), { numRuns: 1000 });
  });

  it("interface names are checked as the first time, however often and many", () => {
    const names = fc.oneof(fc.constantFrom("eth0", "", ".", "..", "a/b", "a:b", "a b", "x".repeat(15), "x".repeat(16), "é".repeat(8)), fc.string({ maxLength: 17 }));
    fc.assert(fc.property(fc.array(names, { maxLength: 300 }), (list) => {
      for (const name of list) {
        const r = parsePacketText(`tcp 10.0.0.1:1 -> 10.0.0.2:2 in ${name}`);
        const bad = /\s/.test(name) || name === "" ? undefined : interfaceNameProblem(name);
        if (bad !== undefined) expect(r).toMatchObject({ ok: false, error: bad });
        else if (!/\s/.test(name) && name !== "" && name !== "local") expect(r.ok).toBe(true);
      }
    }), { numRuns: 30 });
  });
});
