/**
 * `-j CT` (raw table): sets up the conntrack entry a packet will get — not tracked at all,
 * a helper, a timeout policy, event masks, a zone.
 *
 * `-j NOTRACK` is CT revision 2 with an alias flag; it has its own file (NOTRACK.ts), which
 * also reads the `CT ... NOTRACK` rows of listings.
 */
import type { RawOption } from "../../model/ast.js";
import type { BindContext, TargetExtension } from "../types.js";
import { collectOptions, parseUnsigned } from "../util.js";

export const CT_EVENTS = ["new", "related", "destroy", "reply", "assured", "protoinfo", "helper", "mark", "natseqinfo", "secmark"] as const;
export const EXP_EVENTS = ["new"] as const;

export interface CtData {
  notrack: boolean;
  helper?: string;
  timeout?: string;
  /** In the kernel's bit order, which is also the printing order. */
  ctEvents: string[];
  expEvents: string[];
  zone: number;
  /** The zone is taken from the packet mark. */
  zoneMark: boolean;
  /** Direction flags of --zone-orig / --zone-reply (both or neither: the zone applies both ways). */
  zoneOrig: boolean;
  zoneReply: boolean;
}

function emptyCt(): CtData {
  return { notrack: false, ctEvents: [], expEvents: [], zone: 0, zoneMark: false, zoneOrig: false, zoneReply: false };
}

function zoneText(d: CtData, word: string): string {
  if (!d.zoneMark && d.zone === 0) return "";
  const dir = d.zoneOrig && !d.zoneReply ? "-orig" : d.zoneReply && !d.zoneOrig ? "-reply" : "";
  return ` ${word}${dir} ${d.zoneMark ? "mark" : d.zone}`;
}

function parseEvents(o: RawOption, table: readonly string[], ctx: BindContext): string[] | undefined {
  const want = new Set<string>();
  for (const e of (o.values[0] ?? "").split(",")) {
    if (!table.includes(e)) return void ctx.error(o.span, `CT: unknown event type "${e}"`, table.join(", "), e);
    want.add(e);
  }
  return table.filter((e) => want.has(e));
}

/** A string copied into a fixed kernel buffer: iptables cuts it silently; we say so. */
function bounded(o: RawOption, max: number, ctx: BindContext): string {
  const v = o.values[0] ?? "";
  if (v.length > max) ctx.warning(o.span, `CT: ${o.flag} is cut to ${max} characters, as iptables does`);
  return v.slice(0, max);
}

function text(d: CtData, dashes: string): string {
  let s = "";
  if (d.notrack) s += ` ${dashes}notrack`;
  if (d.helper) s += ` ${dashes}helper ${d.helper}`;
  if (d.timeout) s += ` ${dashes}timeout ${d.timeout}`;
  if (d.ctEvents.length) s += ` ${dashes}ctevents ${d.ctEvents.join(",")}`;
  if (d.expEvents.length) s += ` ${dashes}expevents ${d.expEvents.join(",")}`;
  return s + zoneText(d, `${dashes}zone`);
}

export const CT: TargetExtension<CtData> = {
  type: "target",
  name: "CT",
  reads: () => [],
  // `--notrack` returns from xt_ct_tg_check before it takes conntrack (nf_ct_netns_get); a
  // zone, helper or timeout takes it (measured in test/kernel/cluster.test.ts).
  needsConntrack: (d) => !d.notrack,
  tables: ["raw"],
  options: [
    { flags: ["--notrack"], args: 0 },
    { flags: ["--helper"], args: 1 },
    { flags: ["--timeout"], args: 1 },
    { flags: ["--ctevents"], args: 1 },
    { flags: ["--expevents"], args: 1 },
    { flags: ["--zone-orig"], args: 1 },
    { flags: ["--zone-reply"], args: 1 },
    { flags: ["--zone"], args: 1 },
  ],
  parse(options, ctx) {
    const byFlag = collectOptions(CT.options, options, ctx, "CT");
    const d = emptyCt();
    for (const o of byFlag.values()) {
      switch (o.flag) {
        case "--notrack":
          d.notrack = true;
          break;
        case "--helper":
          d.helper = bounded(o, 15, ctx);
          break;
        case "--timeout":
          d.timeout = bounded(o, 31, ctx);
          break;
        case "--ctevents":
        case "--expevents": {
          const ev = parseEvents(o, o.flag === "--ctevents" ? CT_EVENTS : EXP_EVENTS, ctx);
          if (!ev) return undefined;
          if (o.flag === "--ctevents") d.ctEvents = ev;
          else d.expEvents = ev;
          break;
        }
        default: {
          // libxt_CT only ever adds direction and mark flags: `--zone-orig 2 --zone 1` stays orig.
          const v = o.values[0] ?? "";
          if (o.flag === "--zone-orig") d.zoneOrig = true;
          if (o.flag === "--zone-reply") d.zoneReply = true;
          if (v.toLowerCase() === "mark") {
            d.zoneMark = true;
            d.zone = 0;
          } else {
            const n = parseUnsigned(v, 0xffff);
            if (n === undefined) return void ctx.error(o.span, `CT: cannot parse ${v} as a zone ID`, "0-65535 or mark", v);
            d.zone = n;
          }
        }
      }
    }
    return d;
  },
  save(d) {
    return text(d, "--");
  },
  print(d) {
    return " CT" + text(d, "");
  },
  parsePrint(s) {
    if (!s.literal("CT")) return undefined;
    const d = emptyCt();
    d.notrack = s.literal("notrack");
    const word = (w: string) => (s.literal(w) ? s.word() : undefined);
    const helper = word("helper");
    if (helper !== undefined) d.helper = helper;
    const timeout = word("timeout");
    if (timeout !== undefined) d.timeout = timeout;
    const events = (w: string, table: readonly string[]) => {
      const list = word(w);
      if (list === undefined) return [];
      const parts = list.split(",");
      return parts.every((p) => table.includes(p)) ? parts : undefined;
    };
    const ct = events("ctevents", CT_EVENTS);
    const exp = events("expevents", EXP_EVENTS);
    if (!ct || !exp) return undefined;
    d.ctEvents = ct;
    d.expEvents = exp;
    const z = s.match(/zone(-orig|-reply)? (mark|\d+)(?=\s|$)/);
    if (z) {
      d.zoneOrig = z[1] === "-orig";
      d.zoneReply = z[1] === "-reply";
      if (z[2] === "mark") d.zoneMark = true;
      else d.zone = Number(z[2]);
    }
    return d;
  },
  apply(d, env, fx) {
    if (d.notrack) {
      fx.notrack();
      return { verdict: "CONTINUE" };
    }
    if (d.zoneMark) fx.setCtZone(env.packet.mark & 0xffff);
    else if (d.zone !== 0) fx.setCtZone(d.zone);
    if (d.helper) fx.setHelper(d.helper);
    return { verdict: "CONTINUE" };
  },
};
