/**
 * A statement keeps the compiled set its `@name` was last found as (SetMemo), with the table it
 * was found in: the lookups it makes through the memo answer exactly as lookups without one,
 * whichever tables (sets of that name with other elements, or none) it is asked in, in turn.
 * (A prepared statement belongs to one compiled table, so in a walk the memo only ever meets
 * one; this holds it to the lookup in the case it guards against too.)
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { findElement, setMemo } from "../../src/netfilter/nft/expr/lookup.js";
import { compileSet } from "../../src/netfilter/nft/sets.js";
import type { NftCompiledTable } from "../../src/netfilter/nft/compile.js";
import type { NftEnv } from "../../src/netfilter/nft/expr/env.js";
import { el, port } from "../support/nft-build.js";

const PORTS = [22, 80, 443, 8080];

/** A table holding @ports with these elements, or without it (undefined). */
function tableOf(name: string, ports: number[] | undefined): NftCompiledTable {
  const sets = new Map(ports === undefined ? [] : [["ports", compileSet("ports", ports.map((p) => el(port(p))))] as const]);
  return { family: "ip", name, chains: new Map(), sets, jumps: new WeakMap(), loops: new Set() };
}

const envIn = (table: NftCompiledTable): NftEnv => ({ br: { nftSets: undefined }, table } as unknown as NftEnv);

describe("a statement's set memo changes no answer", () => {
  it("lookups through one memo in tables taken in turn answer as lookups without it", () => {
    const portsArb = fc.option(fc.subarray(PORTS), { nil: undefined });
    fc.assert(fc.property(fc.array(portsArb, { minLength: 1, maxLength: 3 }), fc.array(fc.tuple(fc.nat(2), fc.constantFrom(...PORTS)), { minLength: 1, maxLength: 10 }), (sets, asks) => {
      const tables = sets.map((ports, i) => tableOf(`t${i}`, ports));
      const memo = setMemo();
      const ref = { kind: "setref", name: "ports" } as const;
      for (const [t, p] of asks) {
        const env = envIn(tables[t % tables.length]!);
        expect(findElement(ref, p, env, memo)).toEqual(findElement(ref, p, env));
      }
    }), { numRuns: 1000 });
  });
});
