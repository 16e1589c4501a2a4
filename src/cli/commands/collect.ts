/**
 * `netfate collect DIR`: run on a node, gathers everything netfate reads into DIR, so the
 * questions can be asked anywhere later with `--bundle DIR`.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { flagSet, helpText, parseArgs, UsageError, type FlagSpec } from "../args.js";
import type { CommandIO } from "../io.js";

export const COLLECT_FLAGS: FlagSpec[] = [
  { name: "help", short: "h", help: "show this help" },
];

/** What is gathered: file name, command, and whether a failure matters. */
export const COLLECTED: ReadonlyArray<readonly [string, string[], boolean]> = [
  ["iptables-save.txt", ["iptables-save", "-c"], true],
  ["ip6tables-save.txt", ["ip6tables-save", "-c"], false],
  ["ipset-save.txt", ["ipset", "save"], false],
  ["ip-addr.json", ["ip", "-j", "addr"], true],
  ["ip-route.json", ["ip", "-j", "route", "show", "table", "all"], true],
  ["ip6-route.json", ["ip", "-j", "-6", "route", "show", "table", "all"], false],
  ["sysctl.txt", ["sysctl", "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "net.ipv4.conf.all.rp_filter", "net.bridge.bridge-nf-call-iptables", "net.netfilter.nf_conntrack_tcp_loose"], false],
];

const KUBECTL = `On a Kubernetes node without a shell, collect through a debug pod in the node's namespaces:

  kubectl debug node/NODE -it --image=debian:12 -- chroot /host sh -c 'npx netfate collect /tmp/netfate'
  kubectl cp NODE-debug-pod:/host/tmp/netfate ./netfate-NODE

or, without netfate on the node, run these commands there and copy their output into files of the same names:
`;

export function runCollect(argv: string[], io: CommandIO): number {
  const args = parseArgs(argv, COLLECT_FLAGS);
  if (flagSet(args, "help")) {
    io.out(helpText("usage: netfate collect DIR\n\nGathers iptables-save -c, ip6tables-save -c, ipset save, ip -j addr, ip -j route and sysctls into DIR.", COLLECT_FLAGS));
    io.out("\n" + KUBECTL + COLLECTED.map(([f, cmd]) => `  ${cmd.join(" ")} > ${f}`).join("\n") + "\n");
    return 0;
  }
  const dir = args.positionals[0];
  if (!dir) throw new UsageError("collect needs a DIR to write into");
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`cannot create ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let failed = 0;
  for (const [file, cmd, required] of COLLECTED) {
    const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8" });
    if (r.status === 0 && r.stdout) {
      writeFileSync(join(dir, file), r.stdout);
      io.err(`wrote ${join(dir, file)}\n`);
    } else {
      const why = r.error ? (r.error as NodeJS.ErrnoException).code : (r.stderr || "").trim().split("\n")[0] || `exit ${r.status}`;
      io.err(`${required ? "error" : "note"}: ${cmd.join(" ")}: ${why}\n`);
      if (required) failed++;
    }
  }
  writeFileSync(join(dir, "README.txt"), `Collected by netfate on ${new Date().toISOString()}.\nUse: netfate trace --bundle ${dir} PACKET\n`);
  io.out(`${dir}: use it with  netfate why-dropped --bundle ${dir} "tcp SRC:PORT -> DST:PORT in IFACE"\n\n${KUBECTL}${COLLECTED.map(([f, cmd]) => `  ${cmd.join(" ")} > ${f}`).join("\n")}\n`);
  return failed ? 2 : 0;
}
