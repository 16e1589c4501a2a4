/**
 * netfate against the kernel: random rulesets of the shapes real nodes use, their constants
 * drawn mostly from the test node (its addresses under prefixes of every length, its
 * interfaces, a few shared marks), and packets made from each ruleset's own constants by
 * `diff`'s candidatePackets — on and either side of every prefix and port-range edge, through
 * every jump — so that most packets meet rules, not only chain policies. The kernel's own
 * trace (`nft monitor trace`) is the judge: every kernel path must be one of netfate's
 * outcomes. A disagreement is shrunk by fast-check to a minimal ruleset and packets and saved
 * under samples/regressions/ (replayed by regressions.test.ts). The run prints what its
 * packets exercised and fails when they stop meeting rules. A second run draws the node's
 * routing as well (node-models.ts: `ip rule`s, a second table, rp_filter) and judges where
 * each packet ended as well as its path. Skipped with a one-line reason
 * where network namespaces are not available; in CI (CI=true) a skip is a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildNode } from "../../src/netfilter/model.js";
import { saveText } from "../../src/print/save.js";
import { candidatePackets } from "../../src/diff/candidates.js";
import type { PacketSpec } from "../../src/model/packet.js";
import type { Ruleset } from "../../src/model/ast.js";
import type { Outcome } from "../../src/model/evaluation.js";
import { filterRulesetOf } from "../../src/testing/rulesets.js";
import { nodeConstants } from "../support/node-constants.js";
import { factsOfTopology, KernelNode, kernelFate, kernelSkipReason, viewOfTopology, type KernelTrace, type Topology } from "./harness.js";
import { fateAgrees, kernelAnswer, kernelSteps, netfatePaths, type KernelAnswer } from "./compare.js";
import { nodeModelArb, routingPackets, type NodeModel } from "./node-models.js";
import { parseRules } from "../../src/parse.js";
import { PathCoverage } from "./path-coverage.js";
import { saveRegression, type RegressionCase } from "./regression-case.js";

const why = kernelSkipReason();
const NAT_VERDICTS = new Set(["DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP"]);

const TOPO: Topology = {
  ifaces: [{ name: "eth0", addr: "192.168.0.11/24" }, { name: "cni0", addr: "10.244.0.1/24" }, { name: "veth1", addr: "10.9.0.1/30" }],
  routes: ["default via 192.168.0.1 dev eth0"],
  forwarding: true,
};
const view = viewOfTopology(TOPO);
/** NETFATE_KERNEL_SEED (with NETFATE_KERNEL_RULESETS, NETFATE_KERNEL_NODE_MODELS) explores further without changing what CI runs. */
const SEED = Number(process.env.NETFATE_KERNEL_SEED ?? 20261125);
/** Shrinking a disagreement runs the kernel once per candidate: it stops after this long with the smallest found. */
const SHRINK_MS = Number(process.env.NETFATE_SHRINK_MS ?? 180_000);
const PACKETS = 10;

/** The node's addresses, its neighbours' and some of the world's; ports services use; marks. */
const rulesetArb = filterRulesetOf(nodeConstants({
  addresses: ["192.168.0.11", "192.168.0.50", "192.168.0.1", "10.244.0.1", "10.244.0.9", "10.9.0.1", "10.9.0.2", "8.8.8.8", "172.16.5.5", "127.0.0.1"],
  ifaces: [...TOPO.ifaces.map((i) => i.name), "lo"],
  ports: [22, 53, 80, 443, 1024, 8080, 30000, 32767, 40000],
  marks: [0, 1, 0x4000, 0x4001, 0xff00, 0x100],
}));

const FROM = new Set([...TOPO.ifaces.map((i) => i.name), "local"]);
const candidateOptions = { facts: factsOfTopology(TOPO), max: 400, random: 40 };

/**
 * A packet the harness can send as candidatePackets made it: from one of its interfaces or
 * the node itself, without a mark (marks do not cross namespaces: a mark comes from -j MARK)
 * and as a connection's first packet.
 */
function sendable(p: PacketSpec): boolean {
  return p.family === "ipv4" && FROM.has(p.from) && !p.mark && p.state === undefined && p.src !== p.dst && !martian(p) && !oddLocal(p) && !rawOnly(p);
}

const NODE_ADDRS = new Set(TOPO.ifaces.map((i) => i.addr!.split("/")[0]!));
/** The subnets' broadcast addresses: the kernel's local table delivers them (`broadcast 10.244.0.255 dev cni0`). */
const BROADCASTS = new Set(TOPO.ifaces.map((i) => {
  const [a, p] = i.addr!.split("/");
  const n = a!.split(".").reduce((x, b) => x * 256 + Number(b), 0);
  const b = (n | (2 ** (32 - Number(p)) - 1)) >>> 0;
  return [b >>> 24, (b >>> 16) & 255, (b >>> 8) & 255, b & 255].join(".");
}));
const firstOctet = (ip: string) => Number(ip.split(".")[0]);
/** 0/8, 127/8, and 224/3 (multicast, reserved, limited broadcast). */
const special = (ip: string) => [0, 127].includes(firstOctet(ip)) || firstOctet(ip) >= 224;

/**
 * A packet from outside that the kernel's input route lookup drops as martian before any
 * forward or input hook (ip_route_input_slow, fib_validate_source): a source that is the
 * node's own address, a subnet's broadcast address (10.9.0.3 from eth0), loopback, zero,
 * multicast or broadcast; a loopback or zero destination;
 * a multicast one, which a node without multicast routing drops (235.190.24.79 from eth0,
 * which netfate forwards: found by this test). netfate does not model these drops yet (found by this test: it forwards
 * 192.168.0.11 -> 192.255.255.255 arriving on cni0, the kernel drops it), so they are left
 * out here; so are packets to a subnet's broadcast address (10.9.0.2 -> 10.244.0.255 from
 * veth1, found by this test: the kernel delivers them). netfate now delivers them too (pinned
 * in pinned.test.ts) when it reads node facts; this test's node view (simpleNode) has no
 * broadcast addresses, so they stay out here: the node-model test below sends them (tried:
 * 10.9.0.2 -> 10.244.0.255 from veth1, forwarded by the simple view, delivered by the kernel).
 */
function martian(p: PacketSpec): boolean {
  if (BROADCASTS.has(p.dst)) return true;
  if (p.from === "local" || p.src === undefined) return false;
  return NODE_ADDRS.has(p.src) || BROADCASTS.has(p.src) || special(p.src) || special(p.dst);
}

/**
 * A packet the node sends to a special address other than 127.0.0.1: netfate gives it the
 * destination as its source, the kernel the local route's preferred source (127.0.0.1 for
 * 127.0.0.0/8; found by this test). Left out until netfate models that.
 */
function oddLocal(p: PacketSpec): boolean {
  return p.from === "local" && p.src === undefined && special(p.dst) && p.dst !== "127.0.0.1";
}

/**
 * A packet the node sends that a TCP or UDP socket and the harness's raw socket send
 * differently (socket-send.test.ts pins what real sockets do): TCP to a multicast address,
 * which no TCP socket can connect to but a raw socket sends, and anything but TCP to a
 * broadcast address, which netfate takes to come from a socket with SO_BROADCAST and the raw
 * socket, without it, may not send. (TCP to a broadcast address is compared: refused by both;
 * found by this test, seed 6262626: a SYN to 127.255.255.255 that netfate delivered.)
 */
function rawOnly(p: PacketSpec): boolean {
  if (p.from !== "local") return false;
  const first = firstOctet(p.dst);
  if (p.proto === 6) return first >= 224 && first < 240;
  return p.dst === "127.255.255.255" || p.dst === "255.255.255.255";
}

/** "table chain rule" of every rule an outcome matched. */
function rulesMatched(outcomes: Outcome[]): string[] {
  return outcomes.flatMap((o) => o.steps.filter((s) => s.matched && s.rule !== "policy").map((s) => `${s.table} ${s.chain} ${s.rule}`));
}

/** Of each ruleset's packets, this many are the next in the shuffled order, whatever they meet. */
const UNCHOSEN = 2;

/**
 * PACKETS of the ruleset's candidate packets, in an order `seed` shuffles: first those that
 * meet a rule no packet picked before meets, then others that meet some rule (both in
 * netfate's view; the kernel still judges each), and UNCHOSEN more whatever they meet.
 */
function choosePackets(rs: Ruleset, n: ReturnType<typeof buildNode>, seed: number): PacketSpec[] {
  const all = candidatePackets([[rs]], { ...candidateOptions, seed }).filter(sendable);
  const order = all.map((p, i) => ({ p, k: Math.imul((i + 1) ^ seed, 0x9e3779b1) >>> 0 })).sort((a, b) => a.k - b.k).map((x) => x.p);
  const rules = new Map(order.map((p) => [p, rulesMatched(n.evaluate(p).outcomes)]));
  const met = new Set<string>();
  const picked = new Set<PacketSpec>();
  for (const p of order) {
    if (picked.size >= PACKETS - UNCHOSEN) break;
    if (rules.get(p)!.every((r) => met.has(r))) continue;
    for (const r of rules.get(p)!) met.add(r);
    picked.add(p);
  }
  for (const p of order) if (picked.size < PACKETS - UNCHOSEN && rules.get(p)!.length) picked.add(p);
  for (const p of order) if (picked.size < PACKETS && !picked.has(p)) picked.add(p);
  return [...picked];
}

/**
 * The kinds of target and condition the generator writes that a run's packets must meet at
 * least once. `-f` alone never matches: the harness sends no fragments.
 */
const MUST_MEET = [
  "ACCEPT", "DROP", "RETURN", "(no target)", "MARK", "-j CHAIN", "-g CHAIN",
  "-s", "! -s", "-d", "! -d", "-i", "! -i", "-i +", "-o", "! -o", "-o +", "-p", "! -p", "! -f",
  "-m comment", "-m mark", "! -m mark", "-m statistic", "! -m statistic", "--sport", "! --sport", "--dport", "! --dport",
];

interface Disagreement {
  packet: PacketSpec;
  kernel: string[] | "send-failed";
  /** Where the kernel's packet ended, when the comparison judged that too. */
  answer?: KernelAnswer;
  netfate: string[][];
  text: string;
}

interface Compared {
  sent: number;
  compared: number;
  disagreements: Disagreement[];
}

interface CheckResult {
  /** Empty when netfate agreed; else the shrunk disagreement (saved as a regression case) or why none could be saved. */
  report: string;
  numRuns: number;
  sent: number;
  compared: number;
  /** Disagreements that did not repeat when the same case ran again: the kernel's side (a trace lost or mixed up). */
  flakes: string[];
  /** With keepGoing: every disagreement's text, none shrunk. */
  disagreed: string[];
}

/**
 * Runs `runs` cases drawn from `arb` through `compare` (`record` is true while nothing has
 * failed: what the caller tallies comes from the unshrunk run only). A disagreement is run
 * again: one that does not repeat is a flake, counted, not judged; one that does is shrunk by
 * fast-check for at most SHRINK_MS and saved under samples/regressions/. With `keepGoing`
 * every case runs and every disagreement is kept instead (how far netfate is from the kernel).
 */
async function checkAgainstKernel<T>(
  arb: fc.Arbitrary<T>,
  runs: number,
  compare: (c: T, record: boolean) => Promise<Compared>,
  caseOf: (c: T, d: Disagreement) => Omit<RegressionCase, "found" | "netfate" | "packet" | "kernel">,
  label: string,
  keepGoing = false,
): Promise<CheckResult> {
  const out: CheckResult = { report: "", numRuns: 0, sent: 0, compared: 0, flakes: [], disagreed: [] };
  let firstFailure: number | undefined;
  const property = fc.asyncProperty(arb, async (c) => {
    // Past the shrinking budget every candidate passes, which ends shrinking with the smallest failure so far.
    if (firstFailure !== undefined && Date.now() - firstFailure > SHRINK_MS) return true;
    const r = await compare(c, firstFailure === undefined);
    out.sent += r.sent;
    out.compared += r.compared;
    if (keepGoing) {
      out.disagreed.push(...r.disagreements.map((d) => d.text));
      return true;
    }
    if (r.disagreements.length && (await compare(c, false)).disagreements.length === 0) {
      // netfate's answer does not change between runs: a disagreement the same case does not
      // show again came from the kernel's side. Counted and shown, not judged; a real one
      // repeats and is shrunk.
      out.flakes.push(r.disagreements[0]!.text);
      return true;
    }
    if (r.disagreements.length && firstFailure === undefined) firstFailure = Date.now();
    return r.disagreements.length === 0;
  });
  const result = await fc.check(property, { numRuns: runs, seed: SEED, endOnFailure: false });
  out.numRuns = result.numRuns;
  if (result.failed && result.counterexample) {
    const [c] = result.counterexample;
    const d = (await compare(c, false)).disagreements[0];
    if (!d) out.report = `a disagreement that did not repeat (seed ${SEED}, path ${result.counterexamplePath}):\n${String(result.errorInstance)}`;
    else {
      const saved = saveRegression({
        found: `test/kernel/differential.test.ts${label}, seed ${SEED}, path ${result.counterexamplePath}, shrunk ${result.numShrinks} times, ${new Date().toISOString().slice(0, 10)}`,
        ...caseOf(c, d),
        packet: d.packet,
        kernel: d.kernel,
        ...(d.answer ? { answer: d.answer } : {}),
        netfate: d.netfate,
      });
      out.report = `saved as ${saved}\n${d.text}`;
    }
  } else if (result.failed) out.report = `fast-check failed without a counterexample: ${String(result.errorInstance)}`;
  return out;
}

/**
 * Judges each packet the kernel traced (a lost trace is not compared): netfate must take the
 * kernel's path through the dump's tables, and with `judgeEnd` also end where the kernel's
 * packet ended; a packet the kernel refused to send must be unroutable in every outcome.
 * `context` closes each disagreement's text; `onCompared` sees every compared packet, with
 * the outcome that agreed.
 */
function judge(
  packets: PacketSpec[],
  traces: Array<KernelTrace | "send-failed" | undefined>,
  n: ReturnType<typeof buildNode>,
  tables: Set<string>,
  opts: { judgeEnd: boolean; context: string; onCompared?: (kt: KernelTrace | "send-failed", agreeing: Outcome | undefined, p: PacketSpec) => void },
): Compared {
  const out: Compared = { sent: packets.length, compared: 0, disagreements: [] };
  packets.forEach((p, i) => {
    const kt = traces[i];
    if (!kt) return;
    out.compared++;
    const outs = n.evaluate(p).outcomes;
    const ours = outs.flatMap((o) => netfatePaths(o));
    const answer = kernelAnswer(kt);
    const theirs = outs.map((o) => `${netfatePaths(o)[0]?.join(" / ")} => ${o.fate.kind}${"iface" in o.fate && o.fate.iface ? ` ${o.fate.iface}` : ""}`).join("\n--- or ---\n");
    const text = (kernel: string) => `packet ${JSON.stringify(p)}\nkernel: ${answer}\n${kernel}\nnetfate:\n${theirs}\n${opts.context}`;
    if (kt === "send-failed") {
      // netfilter never saw the packet: netfate must say unroutable.
      const agreed = outs.every((o) => fateAgrees("send-failed", o.fate));
      if (!agreed) out.disagreements.push({ packet: p, kernel: "send-failed", netfate: ours, text: text("") });
      opts.onCompared?.(kt, agreed ? outs[0] : undefined, p);
      return;
    }
    const kernel = kernelSteps(kt.steps, tables);
    const agreeing = outs.find((o) => netfatePaths(o).some((path) => path.join("\n") === kernel.join("\n")) && (!opts.judgeEnd || fateAgrees(kernelFate(kt), o.fate)));
    if (!agreeing) out.disagreements.push({ packet: p, kernel, ...(opts.judgeEnd ? { answer } : {}), netfate: ours, text: text(kernel.join(" / ")) });
    opts.onCompared?.(kt, agreeing, p);
  });
  return out;
}

/** netfate agreed on every case, at most two disagreements did not repeat, and the traces were not lost. */
function expectAgreed(r: CheckResult, runs: number): void {
  expect(r.report).toBe("");
  if (r.flakes.length) console.log(`${r.flakes.length} disagreement(s) that did not repeat; the first:\n${r.flakes[0]}`);
  expect(r.flakes.length).toBeLessThanOrEqual(2);
  expect(r.numRuns).toBe(runs);
  expect(r.compared).toBeGreaterThanOrEqual(r.sent * 0.95);
}

describe.skipIf(why !== undefined)(`kernel differential${why ? ` (skipped: ${why})` : ""}`, () => {
  let k: KernelNode;
  beforeAll(() => {
    k = new KernelNode(TOPO);
  });
  /** The namespace the node models take turns in (rerouted for each). */
  let routed: KernelNode | undefined;
  afterAll(() => {
    k?.close();
    routed?.close();
  });

  /**
   * Runs one ruleset and its packets through both; a lost trace is counted, not judged. What
   * the compared packets exercised goes to `coverage` when given.
   */
  async function compare(rs: Ruleset, packets: PacketSpec[], coverage?: PathCoverage): Promise<Compared> {
    const text = saveText(rs);
    k.load(text);
    const traces = await k.trace(packets);
    const n = buildNode({ rulesets: [rs], node: view });
    const tables = new Set<string>(rs.tables.map((t) => t.name));
    return judge(packets, traces, n, tables, {
      judgeEnd: false,
      context: `rules:\n${text}`,
      onCompared: (kt, agreeing) => {
        if (agreeing && kt !== "send-failed") coverage?.add(rs, kt.steps.filter((s) => tables.has(s.table)), agreeing.steps.some((s) => s.matched && NAT_VERDICTS.has(s.verdict)));
      },
    });
  }

  it("random filter rulesets, packets from their constants: every kernel path is one of netfate's outcomes", async () => {
    const RULESETS = Number(process.env.NETFATE_KERNEL_RULESETS ?? 170);
    const coverage = new PathCoverage();
    const packetsOf = (rs: Ruleset, seed: number) => choosePackets(rs, buildNode({ rulesets: [rs], node: view }), seed);
    const result = await checkAgainstKernel(
      fc.tuple(rulesetArb, fc.nat()),
      RULESETS,
      ([rs, seed], record) => compare(rs, packetsOf(rs, seed), record ? coverage : undefined),
      ([rs]) => ({ topology: TOPO, rules: saveText(rs) }),
      "",
    );
    console.log(`kernel differential, ${result.numRuns} rulesets: ${coverage.summary()}`);
    expectAgreed(result, RULESETS);
    // Packets that only meet chain policies test nothing: most must meet a rule, and the
    // rules they meet must carry every kind of target and condition the generator writes.
    expect(coverage.matchedRule).toBeGreaterThan(coverage.packets / 2);
    expect(MUST_MEET.filter((kind) => !coverage.kinds.has(kind)), "kinds of target or condition no packet met").toEqual([]);
  }, 1_800_000);

  /**
   * The node's routing drawn too (node-models.ts): `ip rule`s with marks, sources and a second
   * table, the mangle rules that set those marks, rp_filter 0/1/2, and packets that meet the
   * rules' selectors or come from symmetric, asymmetric, spoofed and martian sources, to
   * unicast, own and broadcast destinations. The models take turns in one namespace, rerouted
   * for each. The judge compares where the packet ended as well as its path: a route choice
   * shows only in the interface it leaves by.
   */
  it("random node models (ip rules, a second table, rp_filter), packets meeting their rules: every kernel path and end is one of netfate's outcomes", async () => {
    const MODELS = Number(process.env.NETFATE_KERNEL_NODE_MODELS ?? 40);
    const answers = new Map<KernelAnswer | "not routed by main alone", number>();
    // NETFATE_KERNEL_KEEP_GOING=1 runs every model and counts the disagreements instead of
    // stopping at the first: how far netfate is from the kernel, and the coverage of a full run.
    const keepGoing = process.env.NETFATE_KERNEL_KEEP_GOING === "1";
    const result = await checkAgainstKernel(
      fc.tuple(nodeModelArb, fc.nat()),
      MODELS,
      ([model, seed], record) => compareRouting(model, routingPackets(model, seed, PACKETS), record ? answers : undefined),
      ([model]) => ({ topology: model.topology, rules: routingRules(model) }),
      " (node models)",
      keepGoing,
    );
    const { sent, compared, disagreed } = result;
    const tally = [...answers].sort((a, b) => b[1] - a[1]).map(([a, n]) => `${a}: ${n}`).join(", ");
    console.log(`kernel differential, ${result.numRuns} node models: ${compared} of ${sent} packets compared; where the kernel's packets ended: ${tally}`);
    if (keepGoing) {
      // "kernel: ANSWER" against netfate's first fate, counted: the kinds of disagreement.
      const kinds = new Map<string, number>();
      for (const d of disagreed) {
        const k = `${/^kernel: (.*)$/m.exec(d)?.[1]} / netfate ${/=> (.*)$/m.exec(d)?.[1] ?? /^netfate: (.*)$/m.exec(d)?.[1]}`;
        kinds.set(k, (kinds.get(k) ?? 0) + 1);
      }
      console.log(`${disagreed.length} packets disagreed: ${[...kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join("; ")}${disagreed.length ? `\nthe first:\n${disagreed[0]}` : ""}`);
    }
    expect(disagreed).toEqual([]);
    expectAgreed(result, MODELS);
    // The models must make the route lookup decide: packets refused by it, sent by table 100's
    // gateway, and delivered to broadcast addresses.
    for (const a of ["refused by routing", "out veth1", "out eth0", "delivered", "not routed by main alone"] as const) expect(answers.get(a) ?? 0, `packets that ended: ${a}`).toBeGreaterThan(0);
  }, 1_800_000);

  /**
   * The model's mangle rules, and a filter table whose policies show which hooks a packet
   * reached, with the model's few rules that read the routing view or a fresh node's state
   * (addrtype per device, INVALID, rate limits).
   */
  function routingRules(model: NodeModel): string {
    const chains = (names: string[]) => names.map((c) => `:${c} ACCEPT [0:0]`);
    const out = ["eth0", "cni0", "veth1"].map((o) => `-A FORWARD -o ${o}`);
    return ["*mangle", ...chains(["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]), ...model.mangle, "COMMIT", "*filter", ...chains(["INPUT", "FORWARD", "OUTPUT"]), ...out, ...model.filter, "COMMIT", ""].join("\n");
  }

  /**
   * One node model, its rules and packets through a namespace of its own and through netfate;
   * what the kernel did with each compared packet is tallied into `answers` when given, and so
   * are packets that left by another interface than main alone would have chosen.
   */
  async function compareRouting(model: NodeModel, packets: PacketSpec[], answers?: Map<string, number>): Promise<Compared> {
    const text = routingRules(model);
    const parsed = parseRules(text).value;
    const tables = new Set<string>(parsed.tables.map((t) => t.name));
    routed ??= new KernelNode(model.topology);
    routed.reroute(model.topology);
    routed.load(text);
    routed.flushConntrack();
    const traces = await routed.trace(packets);
    const n = buildNode({ rulesets: [parsed], node: viewOfTopology(model.topology) });
    const mainOnly = buildNode({ rulesets: [parsed], node: viewOfTopology({ ...model.topology, rules: [], sysctls: {} }) });
    const tally = (a: string) => answers?.set(a, (answers.get(a) ?? 0) + 1);
    return judge(packets, traces, n, tables, {
      judgeEnd: true,
      context: `node: ${JSON.stringify(model.topology.rules)} ${JSON.stringify(model.topology.routes)} ${JSON.stringify(model.topology.sysctls)}\nrules:\n${text}`,
      onCompared: (kt, _agreeing, p) => {
        const answer = kernelAnswer(kt);
        tally(answer);
        if (answer.startsWith("out ") && !mainOnly.evaluate(p).outcomes.some((o) => "iface" in o.fate && `out ${o.fate.iface}` === answer)) tally("not routed by main alone");
      },
    });
  }
});
