/**
 * `-j TCPMSS`: rewrites the MSS option of TCP SYNs, to a value or to the path MTU minus the
 * headers (40 bytes for IPv4, 60 for IPv6).
 */
import type { TargetExtension } from "../types.js";
import { parseUnsigned } from "../util.js";

export type TcpmssData = { clampToPmtu: true } | { clampToPmtu: false; mss: number };

export const TCPMSS: TargetExtension<TcpmssData> = {
  type: "target",
  name: "TCPMSS",
  reads: () => [],
  options: [
    { flags: ["--set-mss"], args: 1 },
    { flags: ["--clamp-mss-to-pmtu"], args: 0 },
  ],
  parse(options, ctx, span) {
    if (options.length === 0) return void ctx.error(span, "TCPMSS target: At least one parameter is required", "--set-mss VALUE or --clamp-mss-to-pmtu");
    for (const earlier of options.slice(0, -1)) {
      if (earlier.flag === options[options.length - 1]!.flag) return void ctx.error(earlier.span, `TCPMSS: ${earlier.flag} given more than once`);
      // iptables keeps whichever of the two came last.
      ctx.warning(earlier.span, `TCPMSS: ${earlier.flag} is overridden by the ${options[options.length - 1]!.flag} after it`);
    }
    // The kernel attaches TCPMSS to tcp rules only (its .proto), whatever the flavour.
    const p = ctx.protocol;
    if (!p || p.negated || p.number !== 6) return void ctx.error(span, "TCPMSS: only valid with -p tcp");
    const o = options[options.length - 1]!;
    if (o.flag === "--clamp-mss-to-pmtu") return { clampToPmtu: true };
    // The MSS plus the IP header must fit in 16 bits.
    const max = 0xffff - (ctx.family === "ipv4" ? 20 : 40);
    const mss = parseUnsigned(o.values[0] ?? "", max);
    if (mss === undefined) return void ctx.error(o.span, "TCPMSS: bad --set-mss", `a number 0-${max}`, o.values[0]);
    return { clampToPmtu: false, mss };
  },
  save(d) {
    return d.clampToPmtu ? " --clamp-mss-to-pmtu" : ` --set-mss ${d.mss}`;
  },
  print(d) {
    return d.clampToPmtu ? " TCPMSS clamp to PMTU" : ` TCPMSS set ${d.mss}`;
  },
  parsePrint(s) {
    if (s.literal("TCPMSS clamp to PMTU")) return { clampToPmtu: true };
    const m = s.match(/TCPMSS set (\d+)(?=\s|$)/);
    return m ? { clampToPmtu: false, mss: Number(m[1]) } : undefined;
  },
  apply(d, _env, fx) {
    // Only SYNs carry the option; the kernel leaves other segments alone.
    fx.rewrite("mss", d.clampToPmtu ? "clamped to path MTU" : d.mss);
    return { verdict: "CONTINUE" };
  },
};
