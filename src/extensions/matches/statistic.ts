/**
 * `-m statistic`: random sampling or every-nth packet. The probability is stored as the
 * kernel stores it, a 31-bit integer (p * 2^31 rounded), and printed back from it with 11
 * decimals — that is why kube-proxy's 1/3 reads 0.33332999982.
 *
 * nth mode is no chance: the kernel (net/netfilter/xt_statistic.c) keeps one counter per rule,
 * shared by every packet that reaches it, starting where iptables puts it when the rule is
 * loaded; each packet moves it on by one and the packet that wraps it round matches. Counting
 * the packets a fresh rule sees from 0, packet `--packet` matches, then every `--every`-th
 * after it (measured: `--every 3 --packet 1` matched packets 1 and 4, `--packet 0` packets 0,
 * 3 and 6). So a first packet matches exactly when `--packet` is 0.
 */
import type { MatchExtension, StateChoice } from "../types.js";
import { parseUnsigned, underAssumption } from "../util.js";

export type StatisticData =
  | { mode: "random"; negated: boolean; probabilityBits: number }
  | { mode: "nth"; negated: boolean; every: number; packet: number };

const SCALE = 0x80000000;

/** What netfate assumes of nth counters: one shared text, so outcomes list it once. */
export const NTH_STATE: StateChoice = { key: "nth", quiet: "start", what: "statistic nth counters" };
export const QUIET_NTH =
  "statistic nth counters are at their start, as on a quiet node (the packet is the first each --mode nth rule has seen since the rules were loaded)";

/** How iptables turns `--probability p` into the kernel's integer. */
export function probabilityToBits(p: number): number {
  return Math.min(SCALE, Math.round(p * SCALE));
}

/** The exact probability the kernel applies for a stored integer. */
export function bitsToProbability(bits: number): number {
  return bits / SCALE;
}

export function probabilityText(bits: number): string {
  return (bits / SCALE).toFixed(11);
}

export const statistic: MatchExtension<StatisticData> = {
  type: "match",
  name: "statistic",
  reads: (d) => (d.mode === "nth" ? ["state"] : []),
  state: NTH_STATE,
  printPrefixes: ["statistic"],
  options: [
    { flags: ["--mode"], args: 1 },
    { flags: ["--probability"], args: 1, negatable: true },
    { flags: ["--every"], args: 1, negatable: true },
    { flags: ["--packet"], args: 1 },
  ],
  parse(options, ctx, span) {
    const get = (f: string) => options.find((o) => o.flag === f);
    const mode = get("--mode");
    if (!mode) {
      ctx.error(span, "statistic: --mode is required", "--mode random|nth");
      return undefined;
    }
    if (mode.values[0] === "random") {
      const p = get("--probability");
      const v = p ? Number(p.values[0]) : NaN;
      if (!p || !/^[0-9.eE+-]+$/.test(p.values[0] ?? "") || !(v >= 0 && v <= 1)) {
        ctx.error(p?.span ?? span, "statistic: --mode random needs --probability between 0 and 1", "a number 0..1", p?.values[0]);
        return undefined;
      }
      return { mode: "random", negated: p.negated, probabilityBits: probabilityToBits(v) };
    }
    if (mode.values[0] === "nth") {
      const every = get("--every");
      const packet = get("--packet");
      const e = every ? parseUnsigned(every.values[0] ?? "") : undefined;
      if (!every || e === undefined || e === 0) {
        ctx.error(every?.span ?? span, "statistic: --mode nth needs --every N", "a positive number", every?.values[0]);
        return undefined;
      }
      if (!packet) {
        // iptables 1.8.9 refuses --every without --packet (see reference UNSUPPORTED.md).
        ctx.error(every.span, 'statistic: option "--every" also requires "--packet"', "--packet P");
        return undefined;
      }
      const pk = parseUnsigned(packet.values[0] ?? "");
      if (pk === undefined || pk > e - 1) {
        ctx.error(packet.span, "statistic: --packet must be below --every", `0..${e - 1}`, packet.values[0]);
        return undefined;
      }
      return { mode: "nth", negated: every.negated, every: e, packet: pk };
    }
    ctx.error(mode.span, "statistic: unknown mode", "random or nth", mode.values[0]);
    return undefined;
  },
  save(d) {
    if (d.mode === "random") return ` --mode random${d.negated ? " !" : ""} --probability ${probabilityText(d.probabilityBits)}`;
    return ` --mode nth${d.negated ? " !" : ""} --every ${d.every} --packet ${d.packet}`;
  },
  print(d) {
    if (d.mode === "random") return ` statistic mode random${d.negated ? " !" : ""} probability ${probabilityText(d.probabilityBits)}`;
    return ` statistic mode nth${d.negated ? " !" : ""} every ${d.every}${d.packet ? ` packet ${d.packet}` : ""}`;
  },
  evaluate(d, env) {
    // Packet number --packet (from 0) of a fresh rule is the first to match.
    if (d.mode === "nth") return underAssumption(env, NTH_STATE, { matched: (d.packet === 0) !== d.negated, assuming: QUIET_NTH }, undefined);
    // The kernel draws a 31-bit random number and matches when it is below the stored integer.
    const p = bitsToProbability(d.probabilityBits);
    const hit = d.negated ? 1 - p : p;
    const label = `statistic probability ${probabilityText(d.probabilityBits)}`;
    return {
      branches: [
        { probability: hit, matched: true, label: `${label}: matched` },
        { probability: 1 - hit, matched: false, label: `${label}: not matched` },
      ],
    };
  },
  parsePrint(s) {
    const r = s.match(/statistic mode random (! )?probability ([0-9.]+)/);
    if (r) return { mode: "random", negated: r[1] !== undefined, probabilityBits: probabilityToBits(Number(r[2])) };
    const n = s.match(/statistic mode nth (! )?every ([0-9]+)(?: packet ([0-9]+))?/);
    if (n) return { mode: "nth", negated: n[1] !== undefined, every: Number(n[2]), packet: n[3] ? Number(n[3]) : 0 };
    return undefined;
  },
};
