/**
 * The jump checks (netfilter/jump-graph.ts: missing targets, jump loops, the nf_tables nesting
 * limit) find on random chain graphs exactly what the object-and-map version they replaced
 * found, kept here as it was: the same problems in the same order, the same loops.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ChainDigest, TableName } from "../../src/model/ast.js";
import type { CompileProblem, JumpFacts } from "../../src/netfilter/compile-facts.js";
import { chainPositions, jumpFacts, NFT_JUMP_STACK_SIZE, type JumpNode } from "../../src/netfilter/jump-graph.js";

interface OldNode {
  name: string;
  builtin: boolean;
  readonly digest: ChainDigest;
}

// The version replaced, word for word but for its names.
function oldJumpFacts(table: TableName, byName: ReadonlyMap<string, OldNode>, depth: boolean): JumpFacts {
  const problems: CompileProblem[] = [];
  const loops: string[] = [];
  // Chains by position; each chain's distinct existing targets as positions, in rule order,
  // from the digests: no rule is bound, and a 40k-chain table costs one lookup per jump.
  const chains = [...byName.values()];
  const position = new Map<OldNode, number>();
  chains.forEach((c, i) => position.set(c, i));
  const targetsOf: number[][] = chains.map((c) => {
    const jumps = c.digest.jumps;
    const targets: number[] = [];
    // KUBE-SERVICES jumps to 10k chains: a set there, a look along the list for short ones.
    const seen = jumps.length > 64 ? new Set<number>() : undefined;
    for (let i = 0; i < jumps.length; i += 2) {
      const chain = jumps[i + 1] as string;
      const target = byName.get(chain);
      if (!target) {
        problems.push({ table, chain: c.name, rule: (jumps[i] as number) + 1, message: `jumps to chain ${chain}, which does not exist` });
        continue;
      }
      const at = position.get(target)!;
      if (seen ? !seen.has(at) : !targets.includes(at)) {
        seen?.add(at);
        targets.push(at);
      }
    }
    return targets;
  });
  // Iterative DFS colouring (0 unseen, 1 on the stack, 2 done); a back edge marks every chain on the cycle.
  const colour = new Uint8Array(chains.length);
  for (let start = 0; start < chains.length; start++) {
    if (colour[start]) continue;
    const stack: { at: number; next: number }[] = [];
    const push = (at: number) => {
      colour[at] = 1;
      stack.push({ at, next: 0 });
    };
    push(start);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const targets = targetsOf[top.at]!;
      if (top.next >= targets.length) {
        colour[top.at] = 2;
        stack.pop();
        continue;
      }
      const n = targets[top.next++]!;
      if (colour[n] === 0) push(n);
      else if (colour[n] === 1) {
        const from = stack.findIndex((f) => f.at === n);
        const cycle = stack.slice(from).map((f) => chains[f.at]!.name);
        loops.push(...cycle);
        problems.push({ table, chain: chains[n]!.name, message: `jump loop: ${[...cycle, chains[n]!.name].join(" → ")}` });
      }
    }
  }
  return { problems, loops, ...(depth && !loops.length ? { depth: nftDepthProblems(table, chains, targetsOf) } : {}) };
}

function nftDepthProblems(table: TableName, chains: readonly OldNode[], targetsOf: number[][]): CompileProblem[] {
  const problems: CompileProblem[] = [];
  // Longest jump path below each chain, bottom-up without recursion (the graph has no loop).
  const height = new Int32Array(chains.length).fill(-1);
  for (let start = 0; start < chains.length; start++) {
    if (!chains[start]!.builtin || height[start]! >= 0) continue;
    const stack: { at: number; next: number }[] = [{ at: start, next: 0 }];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const targets = targetsOf[top.at]!;
      if (top.next < targets.length) {
        const n = targets[top.next++]!;
        if (height[n]! < 0) stack.push({ at: n, next: 0 });
        continue;
      }
      let h = 0;
      for (const n of targets) h = Math.max(h, height[n]! + 1);
      height[top.at] = h;
      stack.pop();
    }
    if (height[start]! >= NFT_JUMP_STACK_SIZE) {
      problems.push({
        table, chain: chains[start]!.name,
        message: `chains are nested ${height[start]} jumps deep below it; the kernel's nf_tables refuses more than ${NFT_JUMP_STACK_SIZE - 1} (iptables-nft-restore: "Too many links"), so this iptables-nft dump cannot be what the node holds`,
      });
    }
  }
  return problems;
}

/** A random table: chain names (some given twice, as merged dumps do), built-in or not, and jumps to chains of the table or to names that are none. */
const NAMES = ["INPUT", "FORWARD", "A", "B", "C", "D", "E", "F", "G", "H"];
const table = fc.record({
  chains: fc.array(
    fc.record({
      name: fc.oneof(fc.constantFrom(...NAMES), fc.integer({ min: 0, max: 40 }).map((i) => `C${i}`)),
      builtin: fc.boolean(),
      jumps: fc.array(fc.oneof({ weight: 8, arbitrary: fc.oneof(fc.constantFrom(...NAMES), fc.integer({ min: 0, max: 40 }).map((i) => `C${i}`)) }, { weight: 1, arbitrary: fc.constant("GONE") }), { maxLength: 5 }),
    }),
    { maxLength: 45 },
  ),
  depth: fc.boolean(),
});

/** Long paths below a built-in chain (C0 → C1 → ... → Cn), around the nf_tables limit, with random extra jumps that may close loops. */
const deepTable = fc.record({
  length: fc.integer({ min: NFT_JUMP_STACK_SIZE - 3, max: NFT_JUMP_STACK_SIZE + 3 }),
  extra: fc.array(fc.tuple(fc.integer({ min: 0, max: 22 }), fc.integer({ min: 0, max: 22 })), { maxLength: 4 }),
  builtins: fc.array(fc.integer({ min: 0, max: 22 }), { maxLength: 3 }),
}).map(({ length, extra, builtins }) => ({
  depth: true,
  chains: [
    { name: "INPUT", builtin: true, jumps: ["C0"] },
    ...Array.from({ length: length + 1 }, (_, i) => ({
      name: `C${i}`,
      builtin: builtins.includes(i),
      jumps: [...(i < length ? [`C${i + 1}`] : []), ...extra.filter(([a]) => a === i).map(([, b]) => `C${b}`)],
    })),
  ],
}));

function digestOf(jumps: readonly string[]): ChainDigest {
  return { count: jumps.length, matchNames: [], targetNames: [], unknown: [], jumps: jumps.flatMap((j, i) => [i, j]) };
}

function both(t: { chains: { name: string; builtin: boolean; jumps: string[] }[]; depth: boolean }): [JumpFacts, JumpFacts] {
  const chains: JumpNode[] = t.chains.map((c) => {
    const d = digestOf(c.jumps);
    return { name: c.name, builtin: c.builtin, rules: { digest: () => d } };
  });
  const byName = new Map<string, OldNode>();
  for (const c of chains) byName.set(c.name, { name: c.name, builtin: c.builtin, digest: c.rules.digest() });
  return [jumpFacts("filter", chains, chainPositions(chains), t.depth), oldJumpFacts("filter", byName, t.depth)];
}

describe("the jump checks find what they found before", () => {
  it("on random chain graphs: missing targets, loops, chains given twice", () => {
    fc.assert(fc.property(table, (t) => {
      const [now, before] = both(t);
      expect(now).toEqual(before);
    }), { numRuns: 2000 });
  });

  it("on chains nested around the nf_tables limit", () => {
    let deep = 0;
    fc.assert(fc.property(deepTable, (t) => {
      const [now, before] = both(t);
      expect(now).toEqual(before);
      if (now.depth?.length) deep++;
    }), { numRuns: 500 });
    expect(deep).toBeGreaterThan(0);
  });

  it("says where each problem is", () => {
    const [now] = both({ depth: true, chains: [{ name: "INPUT", builtin: true, jumps: ["A", "NOPE"] }, { name: "A", builtin: false, jumps: ["B"] }, { name: "B", builtin: false, jumps: ["A"] }] });
    expect(now.problems).toEqual([
      { table: "filter", chain: "INPUT", rule: 2, message: "jumps to chain NOPE, which does not exist" },
      { table: "filter", chain: "A", message: "jump loop: A → B → A" },
    ]);
    expect(now.loops).toEqual(["A", "B"]);
    expect(now.depth).toBeUndefined();
  });
});
