/**
 * `-j REDIRECT`: DNAT to the host itself — the primary address of the incoming interface
 * (loopback for locally generated packets), optionally to other ports. nat table only.
 */
import type { RawOption } from "../../model/ast.js";
import type { BindContext, TargetExtension } from "../types.js";
import { servicePort } from "../services.js";
import { collectOptions, parseUnsigned } from "../util.js";
import { natPort, natPortsChecked, randomPortNote } from "../nat-range.js";
import type { NatTo } from "../../model/evaluation.js";

export interface PortRangeData {
  minPort?: number;
  maxPort?: number;
}

export interface RedirectData extends PortRangeData {
  random: boolean;
}

/**
 * `--to-ports PORT[-PORT]` of REDIRECT and MASQUERADE: a single port may be a service
 * name, a range must be numeric and low first.
 */
export function parseToPorts(o: RawOption, ctx: BindContext, target: string): PortRangeData | undefined {
  if (!natPortsChecked(ctx, o.span, target)) return undefined;
  const text = o.values[0] ?? "";
  if (text.includes(":")) return void ctx.error(o.span, `${target}: Invalid port:port syntax - use dash`, "PORT[-PORT]", text);
  const dash = text.indexOf("-");
  if (dash < 0) {
    const p = parseUnsigned(text, 0xffff) ?? servicePort(text);
    if (p === undefined) return void ctx.error(o.span, `${target}: Port \`${text}' not valid`, "a port 0-65535 or a service name", text);
    return { minPort: p, maxPort: p };
  }
  const lo = parseUnsigned(text.slice(0, dash), 0xffff);
  const hi = parseUnsigned(text.slice(dash + 1), 0xffff);
  if (lo === undefined || hi === undefined) return void ctx.error(o.span, `${target}: Port range \`${text}' not valid`, "PORT-PORT, numbers 0-65535", text);
  if (hi < lo) return void ctx.error(o.span, `${target}: Port range \`${text}' funky`, "the low port first", text);
  return { minPort: lo, maxPort: hi };
}

export function portsText(d: PortRangeData): string {
  if (d.minPort === undefined) return "";
  return d.minPort === d.maxPort ? `${d.minPort}` : `${d.minPort}-${d.maxPort}`;
}

/** Reads `PORT[-PORT]` back from a listing. */
export function readPorts(text: string): PortRangeData {
  const [lo, hi] = text.split("-");
  return { minPort: Number(lo), maxPort: Number(hi ?? lo) };
}

export const REDIRECT: TargetExtension<RedirectData> = {
  type: "target",
  name: "REDIRECT",
  reads: () => ["dport"],
  needsConntrack: true,
  tables: ["nat"],
  options: [
    { flags: ["--to-ports"], args: 1 },
    { flags: ["--random"], args: 0 },
  ],
  parse(options, ctx) {
    const o = collectOptions(REDIRECT.options, options, ctx, "REDIRECT");
    const d: RedirectData = { random: o.has("--random") };
    const to = o.get("--to-ports");
    if (to) {
      const r = parseToPorts(to, ctx, "REDIRECT");
      if (!r) return undefined;
      Object.assign(d, r);
    }
    return d;
  },
  save(d) {
    return (d.minPort !== undefined ? ` --to-ports ${portsText(d)}` : "") + (d.random ? " --random" : "");
  },
  print(d) {
    return (d.minPort !== undefined ? ` redir ports ${portsText(d)}` : "") + (d.random ? " random" : "");
  },
  parsePrint(s) {
    const d: RedirectData = { random: false };
    const m = s.match(/redir ports (\d+(?:-\d+)?)(?=\s|$)/);
    if (m) Object.assign(d, readPorts(m[1]!));
    d.random = s.literal("random");
    return d;
  },
  apply(d, env, fx) {
    const p = env.packet;
    let addr: string | undefined;
    if (env.hook === "OUTPUT") addr = p.family === "ipv4" ? "127.0.0.1" : "::1";
    else if (!p.inIface) return { indeterminate: "REDIRECT without an input interface" };
    else {
      addr = env.node.primaryAddress(p.inIface, p.family);
      if (!addr) {
        // nf_nat_redirect drops when the interface has no address.
        if (env.node.known) return { verdict: "DROP", detail: `REDIRECT: ${p.inIface} has no address` };
        return { indeterminate: `REDIRECT needs the address of ${p.inIface} (give node facts)` };
      }
    }
    const to: NatTo = { addr };
    const port = natPort(p.dport, d);
    if (port !== undefined) to.port = port;
    const note = randomPortNote("destination", p.dport, d, d.random);
    if (note !== undefined) to.portNote = note;
    fx.nat("dnat", to, "REDIRECT");
    return { verdict: "ACCEPT" };
  },
};
