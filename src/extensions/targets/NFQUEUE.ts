/**
 * `-j NFQUEUE`: hands the packet to a userspace program listening on a netlink queue, which
 * then decides its fate. Stored as libxt_NFQUEUE revision 3 stores it: first queue and count.
 */
import type { TargetExtension } from "../types.js";
import { collectOptions, parseUnsigned } from "../util.js";

export interface NfqueueData {
  queueNum: number;
  /** 1 for a single queue; more for `--queue-balance`. */
  queuesTotal: number;
  bypass: boolean;
  cpuFanout: boolean;
}

const BALANCE_MAX = 0xfffe;

function queueText(d: NfqueueData, listing: boolean): string {
  const last = d.queueNum + d.queuesTotal - 1;
  if (listing) {
    return (d.queuesTotal > 1 ? ` NFQUEUE balance ${d.queueNum}:${last}` : ` NFQUEUE num ${d.queueNum}`)
      + (d.bypass ? " bypass" : "") + (d.cpuFanout ? " cpu-fanout" : "");
  }
  return (d.queuesTotal > 1 ? ` --queue-balance ${d.queueNum}:${last}` : ` --queue-num ${d.queueNum}`)
    + (d.bypass ? " --queue-bypass" : "") + (d.cpuFanout ? " --queue-cpu-fanout" : "");
}

export const NFQUEUE: TargetExtension<NfqueueData> = {
  type: "target",
  name: "NFQUEUE",
  reads: () => [],
  options: [
    { flags: ["--queue-num"], args: 1 },
    { flags: ["--queue-balance"], args: 1 },
    { flags: ["--queue-bypass"], args: 0 },
    { flags: ["--queue-cpu-fanout"], args: 0 },
  ],
  parse(options, ctx) {
    const o = collectOptions(NFQUEUE.options, options, ctx, "NFQUEUE");
    const d: NfqueueData = { queueNum: 0, queuesTotal: 1, bypass: o.has("--queue-bypass"), cpuFanout: o.has("--queue-cpu-fanout") };
    const num = o.get("--queue-num");
    const balance = o.get("--queue-balance");
    if (num && balance) return void ctx.error(balance.span, "NFQUEUE: --queue-balance cannot be combined with --queue-num");
    if (num) {
      const n = parseUnsigned(num.values[0] ?? "", 0xffff);
      if (n === undefined) return void ctx.error(num.span, "NFQUEUE: bad --queue-num", "a queue number 0-65535", num.values[0]);
      d.queueNum = n;
    }
    if (balance) {
      // FIRST:LAST, either end may be left out (0 and 65534).
      const text = balance.values[0] ?? "";
      const m = /^([^:]*):([^:]*)$/.exec(text);
      const first = m ? (m[1] === "" ? 0 : parseUnsigned(m[1]!, BALANCE_MAX)) : undefined;
      const last = m ? (m[2] === "" ? BALANCE_MAX : parseUnsigned(m[2]!, BALANCE_MAX)) : undefined;
      if (first === undefined || last === undefined) {
        return void ctx.error(balance.span, "NFQUEUE: bad --queue-balance", `FIRST:LAST, queue numbers 0-${BALANCE_MAX}`, text);
      }
      if (first >= last) return void ctx.error(balance.span, `NFQUEUE: ${first} should be less than ${last}`, "FIRST below LAST", text);
      d.queueNum = first;
      d.queuesTotal = last - first + 1;
    }
    if (d.cpuFanout && !balance) {
      return void ctx.error(o.get("--queue-cpu-fanout")!.span, "NFQUEUE: --queue-cpu-fanout also requires --queue-balance", "--queue-balance FIRST:LAST");
    }
    return d;
  },
  save(d) {
    return queueText(d, false);
  },
  print(d) {
    return queueText(d, true);
  },
  parsePrint(s) {
    const m = s.match(/NFQUEUE (?:num (\d+)|balance (\d+):(\d+))(?=\s|$)/);
    if (!m) return undefined;
    const d: NfqueueData = { queueNum: 0, queuesTotal: 1, bypass: false, cpuFanout: false };
    if (m[1] !== undefined) d.queueNum = Number(m[1]);
    else {
      d.queueNum = Number(m[2]);
      d.queuesTotal = Number(m[3]) - d.queueNum + 1;
    }
    d.bypass = s.literal("bypass");
    d.cpuFanout = s.literal("cpu-fanout");
    return d;
  },
  apply(d) {
    // Whatever listens on the queue decides; with --queue-bypass and no listener the kernel accepts.
    const queues = d.queuesTotal > 1 ? `${d.queueNum}:${d.queueNum + d.queuesTotal - 1}` : String(d.queueNum);
    return { verdict: "QUEUE", detail: `NFQUEUE ${queues}${d.bypass ? " (bypass when no listener)" : ""}` };
  },
};
