/** `-j CHECKSUM --checksum-fill`: computes a missing checksum (old dhcp clients behind virtio). */
import type { TargetExtension } from "../types.js";

export interface ChecksumData {
  fill: true;
}

export const CHECKSUM: TargetExtension<ChecksumData> = {
  type: "target",
  name: "CHECKSUM",
  reads: () => [],
  tables: ["mangle"],
  options: [{ flags: ["--checksum-fill"], args: 0 }],
  parse(options, ctx, span) {
    if (options.length > 1) return void ctx.error(options[1]!.span, "CHECKSUM: --checksum-fill given more than once");
    if (options.length === 0) return void ctx.error(span, "CHECKSUM: --checksum-fill is required", "--checksum-fill");
    return { fill: true };
  },
  save() {
    return " --checksum-fill";
  },
  print() {
    return " CHECKSUM fill";
  },
  parsePrint(s) {
    return s.literal("CHECKSUM fill") ? { fill: true } : undefined;
  },
  apply(_d, _env, fx) {
    fx.rewrite("checksum", "filled in");
    return { verdict: "CONTINUE" };
  },
};
