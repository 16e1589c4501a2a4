/**
 * A prepared statement answers as the statement run as it is: a verdict map keyed by a
 * concatenation (its element's verdict kept by position in the compiled map, the history's
 * own set changes looked at first), a nat statement (its written-out target kept per packet
 * family) and a mark's `set` (its value read by a reader worked out once), over packets,
 * tables taken in turn and histories that changed the map.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { prepareStmt, runStmt, type StmtEnv } from "../../src/netfilter/nft/statements.js";
import { compileSet } from "../../src/netfilter/nft/sets.js";
import { changeElement } from "../../src/netfilter/nft/set-state.js";
import { evaluateExpr } from "../../src/netfilter/nft/expr/index.js";
import type { NftCompiledTable } from "../../src/netfilter/nft/compile.js";
import type { NftStmt } from "../../src/model/nft.js";
import type { PacketState } from "../../src/model/evaluation.js";
import { binop, concat, el, goto, ip4, jump, mark, meta, nat, pl, port, proto, ref, setMark, vmap } from "../support/nft-build.js";

const ADDRS = ["10.96.0.1", "10.96.0.2", "10.96.0.3"];
const PORTS = [53, 80, 443];

/** A table whose map @svc sends the listed (address, port) pairs of TCP to chains. */
function tableOf(name: string, pairs: Array<[number, number]> | undefined): NftCompiledTable {
  // The verdict depends on the pair and the table: the same position holds other verdicts in other tables.
  const elements = (pairs ?? []).map(([a, p]) => el(concat(ip4(ADDRS[a]!), proto(6, "tcp"), port(PORTS[p]!)), (a + p + name.length) % 2 ? goto(`c${a}${p}`) : jump(`c${a}${p}${name}`)));
  const sets = new Map(pairs === undefined ? [] : [["svc", compileSet("svc", elements)] as const]);
  return { family: "ip", name, chains: new Map(), sets, jumps: new WeakMap(), loops: new Set() };
}

function packet(dst: string, dport: number, pmark: number, family: "ipv4" | "ipv6" = "ipv4"): PacketState {
  return {
    family, src: "192.168.0.50", dst, proto: 6, sport: 40000, dport, fragment: false, inIface: "eth0", outIface: "eth1", mark: pmark,
    ct: { state: "NEW", dir: "ORIGINAL", mark: 0, zone: 0, orig: { src: "192.168.0.50", dst }, reply: { src: dst, dst: "192.168.0.50" }, status: new Set() },
  } as unknown as PacketState;
}

function envOf(table: NftCompiledTable, pkt: PacketState): StmtEnv {
  const env = {
    br: { pkt, notes: [], steps: [], nftSets: undefined },
    hook: "PREROUTING", family: pkt.family, node: { known: false, masqueradeAddress: () => "192.168.0.11" }, table,
    beforeConntrack: false, assumed: {}, ipsets: undefined, chainType: "nat", bindings: undefined,
    eval: (e: Parameters<typeof evaluateExpr>[0]) => evaluateExpr(e, env as unknown as StmtEnv),
  };
  return env as unknown as StmtEnv;
}

/** The statement's result and what it did to the branch, for the two ways of running it. */
function both(s: NftStmt, prepared: ReturnType<typeof prepareStmt>, mk: () => StmtEnv): [unknown, unknown] {
  const a = mk();
  const b = mk();
  const ra = prepared(a);
  const rb = runStmt(s, b);
  return [{ r: ra, mark: a.br.pkt.mark, nat: a.br.pendingNat }, { r: rb, mark: b.br.pkt.mark, nat: b.br.pendingNat }];
}

describe("a prepared statement answers as the statement itself", () => {
  it("a concatenation's verdict map, over tables in turn and histories that changed it", () => {
    const s = vmap(concat(pl("ip", "daddr"), meta("l4proto"), pl("th", "dport")), ref("svc"));
    const pairArb = fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { maxLength: 6 });
    const ask = fc.record({ t: fc.nat(2), a: fc.nat(2), p: fc.nat(2), changed: fc.option(fc.boolean(), { nil: undefined }) });
    fc.assert(fc.property(fc.array(fc.option(pairArb, { nil: undefined }), { minLength: 1, maxLength: 3 }), fc.array(ask, { minLength: 1, maxLength: 12 }), (maps, asks) => {
      const tables = maps.map((pairs, i) => tableOf(`t${i}`, pairs));
      const prepared = prepareStmt(s);
      for (const { t, a, p, changed } of asks) {
        const table = tables[t % tables.length]!;
        const mk = () => {
          const env = envOf(table, packet(ADDRS[a]!, PORTS[p]!, 0));
          // A history that deleted the element, or added it (without a verdict: the rule stops there).
          if (changed !== undefined) {
            const key = [Number(ADDRS[a]!.split(".").reduce((x, o) => x * 256 + Number(o), 0)), 6, PORTS[p]!];
            changeElement(env.br, table, "svc", key, changed ? { present: true } : { present: false });
          }
          return env;
        };
        const [x, y] = both(s, prepared, mk);
        expect(x).toEqual(y);
      }
    }), { numRuns: 500 });
  });

  it("a mark's set and a nat statement, over marks and packet families", () => {
    const table = tableOf("t", []);
    const stmts: NftStmt[] = [
      setMark(binop("^", meta("mark"), mark(0x4000))),
      setMark(binop("|", meta("mark"), mark(0x4000))),
      setMark(mark(7)),
      nat("masquerade", { flags: ["fully-random"] }),
      nat("dnat", { addr: ip4("10.244.0.5"), port: port(8080) }),
      nat("dnat", { family: "ip", addr: ip4("10.244.0.6") }),
    ];
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(stmts.length - 1), fc.nat(0xffffffff), fc.boolean()), { minLength: 1, maxLength: 10 }), (asks) => {
      const prepared = stmts.map(prepareStmt);
      for (const [i, m, v6] of asks) {
        const [x, y] = both(stmts[i]!, prepared[i]!, () => envOf(table, v6 ? packet("fd00::1", 80, m, "ipv6") : packet("10.96.0.1", 80, m)));
        expect(x).toEqual(y);
      }
    }), { numRuns: 300 });
  });
});
