/**
 * The load-time checks of a table's jumps, as iptables-restore and the kernel make them: jumps
 * to chains that do not exist, jump loops, and (iptables-nft) chains nested deeper than
 * nf_tables allows. A kube-proxy table has 40k chains and 60k jumps, checked on every first
 * answer: chains are numbered by their position and the graph is held in typed arrays, walked
 * without recursion and without a map lookup beyond one per jump; none at all when the dump's
 * reader numbered the jumps already (model/table-jumps.ts).
 *
 * Held to the plain object-and-map version it replaced by test/property/jump-graph.test.ts.
 */
import type { ChainDigest, TableName } from "../model/ast.js";
import type { CompileProblem, JumpFacts } from "./compile-facts.js";
import type { TableJumps } from "../model/table-jumps.js";

/** The chain facts the checks read: a chain as a dump holds it (no rule bound). */
export interface JumpNode {
  readonly name: string;
  readonly builtin: boolean;
  readonly rules: { digest(): ChainDigest };
}

/**
 * nf_tables validates every chain reachable from a base chain at load time and refuses one
 * reached 16 jumps (or gotos) deep: NFT_JUMP_STACK_SIZE, "RULE_APPEND failed (Too many links)"
 * from iptables-nft-restore (test/kernel/jump-depth.test.ts). iptables-legacy has no such limit.
 * A dump that says it came from iptables-nft with deeper chains cannot be what a kernel holds.
 */
export const NFT_JUMP_STACK_SIZE = 16;

/**
 * Each chain name's position in `chains`. A name given twice (tables merged from several
 * dumps) keeps its first place in the order and the later chain: what a Map filled in order
 * makes of them, and what the compiled table holds.
 */
export function chainPositions(chains: readonly { readonly name: string }[]): Map<string, number> {
  const positions = new Map<string, number>();
  for (let k = 0; k < chains.length; k++) positions.set(chains[k]!.name, k);
  return positions;
}

/** The graph: each chain's distinct existing targets, in rule order, as positions in `chains`. */
interface Graph {
  /** The chains the table holds, in its order (positions; a chain given again later replaces one). */
  order: Int32Array;
  /** The targets of the chain at position k are targets[first[k]] .. targets[end[k] - 1] (none for a chain replaced). */
  first: Int32Array;
  end: Int32Array;
  targets: Int32Array;
  /** 1 at the position of each built-in chain. */
  builtin: Uint8Array;
  /** Whether some chain jumps to a built-in one (iptables refuses it: only an edited dump does). */
  builtinJumpedTo: boolean;
}

/** A graph's target lists, filled chain by chain: each chain's distinct targets in the order added. */
class TargetLists {
  readonly first: Int32Array;
  readonly end: Int32Array;
  readonly targets: Int32Array;
  /** The last chain each target was added for: a target once per chain, in O(1). */
  private readonly addedFor: Int32Array;
  private builtinJumpedTo = false;
  private e = 0;

  /** `size`: at least how many targets all chains have. */
  constructor(n: number, size: number, private readonly builtin: Uint8Array) {
    this.first = new Int32Array(n);
    this.end = new Int32Array(n);
    this.targets = new Int32Array(size);
    this.addedFor = new Int32Array(n).fill(-1);
  }

  open(k: number): void {
    this.first[k] = this.e;
  }

  add(k: number, at: number): void {
    if (this.addedFor[at] === k) return;
    this.addedFor[at] = k;
    this.targets[this.e++] = at;
    if (this.builtin[at]) this.builtinJumpedTo = true;
  }

  close(k: number): void {
    this.end[k] = this.e;
  }

  graph(order: Int32Array): Graph {
    const { first, end, targets, builtin, builtinJumpedTo } = this;
    return { order, first, end, targets, builtin, builtinJumpedTo };
  }
}

/**
 * The graph from the jumps the reader found by position (model/table-jumps.ts): every target
 * exists, every name is given once, and no digest is made.
 */
function graphOfKnown(chains: readonly JumpNode[], known: TableJumps): Graph {
  const n = chains.length;
  const builtin = new Uint8Array(n);
  for (let k = 0; k < n; k++) if (chains[k]!.builtin) builtin[k] = 1;
  const lists = new TargetLists(n, known.targets.length, builtin);
  for (let k = 0; k < n; k++) {
    lists.open(k);
    for (let j = known.start[k]!; j < known.start[k + 1]!; j++) lists.add(k, known.targets[j]!);
    lists.close(k);
  }
  return lists.graph(Int32Array.from({ length: n }, (_, k) => k));
}

/** The graph of the chains, and each jump to a chain that does not exist as a problem, in order. */
function graphOf(table: TableName, chains: readonly JumpNode[], positions: ReadonlyMap<string, number>, problems: CompileProblem[]): Graph {
  const n = chains.length;
  // (every name once, the usual case: the positions in order are 0, 1, 2...)
  const order = positions.size === n ? Int32Array.from({ length: n }, (_, k) => k) : Int32Array.from(positions.values());
  // Each chain is read once here: a 40k-chain table is 40k objects spread over the heap.
  const digests: ChainDigest[] = new Array<ChainDigest>(n);
  const builtin = new Uint8Array(n);
  let jumps = 0;
  for (let o = 0; o < order.length; o++) {
    const k = order[o]!;
    const c = chains[k]!;
    const d = c.rules.digest();
    digests[k] = d;
    if (c.builtin) builtin[k] = 1;
    jumps += d.jumps.length >> 1;
  }
  const lists = new TargetLists(n, jumps, builtin);
  for (let o = 0; o < order.length; o++) {
    const k = order[o]!;
    lists.open(k);
    const list = digests[k]!.jumps;
    for (let i = 0; i < list.length; i += 2) {
      const chain = list[i + 1] as string;
      const at = positions.get(chain);
      if (at === undefined) problems.push({ table, chain: chains[k]!.name, rule: (list[i] as number) + 1, message: `jumps to chain ${chain}, which does not exist` });
      else lists.add(k, at);
    }
    lists.close(k);
  }
  return lists.graph(order);
}

/** The built-in chains reached from a built-in chain before them in the table (1 at their position). */
function builtinsBelow(g: Graph): Uint8Array {
  const { order, first, end, targets, builtin } = g;
  const reached = new Uint8Array(builtin.length);
  if (!g.builtinJumpedTo) return reached;
  const stack: number[] = [];
  for (let o = 0; o < order.length; o++) {
    const k = order[o]!;
    if (!builtin[k] || reached[k]) continue;
    reached[k] = 2;
    stack.push(k);
    while (stack.length) {
      const at = stack.pop()!;
      for (let e = first[at]!; e < end[at]!; e++) {
        const t = targets[e]!;
        if (!reached[t]) {
          reached[t] = 1;
          stack.push(t);
        }
      }
    }
  }
  // (2: a start, reached from none before it)
  for (let k = 0; k < reached.length; k++) if (reached[k] === 2) reached[k] = 0;
  return reached;
}

/**
 * Missing jump targets and jump loops, found once at load time as iptables-restore would;
 * with `depth`, and when the table has no loop, also the nf_tables nesting limit. `positions`
 * is chainPositions(chains); `known`, the chains' jumps as their reader found them, when it did
 * (model/table-jumps.ts): the same graph, made without the chains' digests.
 */
export function jumpFacts(table: TableName, chains: readonly JumpNode[], positions: ReadonlyMap<string, number>, depth: boolean, known?: TableJumps): JumpFacts {
  const problems: CompileProblem[] = [];
  const loops: string[] = [];
  const g = known && known.start.length === chains.length + 1 && positions.size === chains.length ? graphOfKnown(chains, known) : graphOf(table, chains, positions, problems);
  const { order, first, end, targets } = g;
  const n = chains.length;
  // Depth-first, without recursion: a chain is 0 unseen, 1 on the stack, 2 done. A jump to a
  // chain on the stack closes a loop, and every chain on it from there is on the loop. A chain
  // done knows the longest jump path below it (what nf_tables limits), from its targets'.
  const colour = new Uint8Array(n);
  const height = new Int32Array(n);
  const stack = new Int32Array(n);
  const next = new Int32Array(n);
  const placeOf = new Int32Array(n);
  for (let o = 0; o < order.length; o++) {
    const start = order[o]!;
    if (colour[start]) continue;
    let top = 0;
    stack[0] = start;
    next[0] = first[start]!;
    placeOf[start] = 0;
    colour[start] = 1;
    while (top >= 0) {
      const at = stack[top]!;
      if (next[top]! >= end[at]!) {
        let h = 0;
        for (let e = first[at]!; e < end[at]!; e++) h = Math.max(h, height[targets[e]!]! + 1);
        height[at] = h;
        colour[at] = 2;
        top--;
        continue;
      }
      const t = targets[next[top]!++]!;
      if (colour[t] === 0) {
        top++;
        stack[top] = t;
        next[top] = first[t]!;
        placeOf[t] = top;
        colour[t] = 1;
      } else if (colour[t] === 1) {
        const cycle: string[] = [];
        for (let s = placeOf[t]!; s <= top; s++) cycle.push(chains[stack[s]!]!.name);
        loops.push(...cycle);
        problems.push({ table, chain: chains[t]!.name, message: `jump loop: ${[...cycle, chains[t]!.name].join(" → ")}` });
      }
    }
  }
  if (!depth || loops.length) return { problems, loops };
  // Without a loop every height is the longest path below the chain, however the walk went. A
  // built-in chain below an earlier one is that one's problem, not its own (iptables refuses a
  // jump to a built-in chain: only an edited dump has one).
  const below = builtinsBelow(g);
  const deep: CompileProblem[] = [];
  for (let o = 0; o < order.length; o++) {
    const k = order[o]!;
    if (!g.builtin[k] || below[k] || height[k]! < NFT_JUMP_STACK_SIZE) continue;
    deep.push({
      table, chain: chains[k]!.name,
      message: `chains are nested ${height[k]} jumps deep below it; the kernel's nf_tables refuses more than ${NFT_JUMP_STACK_SIZE - 1} (iptables-nft-restore: "Too many links"), so this iptables-nft dump cannot be what the node holds`,
    });
  }
  return { problems, loops, depth: deep };
}
