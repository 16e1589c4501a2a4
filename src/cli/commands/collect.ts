/**
 * `netfate collect DIR`: run on a node, gathers everything netfate reads into DIR, so the
 * questions can be asked anywhere later with `--bundle DIR`.
 *
 * It runs as root, often in a shared directory, so it writes nothing through what is already
 * there: the bundle is built in a fresh temporary directory beside DIR (files created with
 * O_EXCL|O_NOFOLLOW) and renamed to DIR at the end. DIR must not exist or be an empty
 * directory; a non-empty one is refused, so no file of an earlier run is read as this one's.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, closeSync, constants, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { flagSet, helpText, parseArgs, UsageError, type FlagSpec } from "../args.js";
import { MANIFEST, MANIFEST_FORMAT, type Manifest, type ManifestEntry } from "../bundle.js";
import type { CommandIO } from "../io.js";
import { CONF_READ, confKey } from "../../facts/sysctl.js";

export const COLLECT_FLAGS: FlagSpec[] = [
  { name: "quiet", short: "q", help: "do not print progress and notes on stderr" },
  { name: "help", short: "h", help: "show this help" },
];

/** One command collect runs, and the bundle file its output goes to. */
export interface Collected {
  file: string;
  command: string[];
  /** A failure makes the bundle unusable (exit 2). */
  required: boolean;
  /** What it printed is kept even when it exits non-zero: sysctl does, after printing every other key, when a key is missing (no br_netfilter, no IPv6). */
  partial?: boolean;
  /** The command as a user without netfate on the node runs it (when it is not `command` as is). */
  recipe?: string;
  /** What is written instead of the output as printed (secrets taken out). */
  redact?: (stdout: string) => string;
  /** What the file holds, said in the manifest, where its name and command do not say enough. */
  holds?: string;
}

/**
 * `wg show all dump` prints each device's private key and each peer's preshared key: a bundle
 * is for sharing, so both become `(hidden)`, as `wg show` itself prints them. Device lines have
 * 5 fields (the private key is the 2nd), peer lines 9 (the preshared key is the 3rd).
 */
export function redactWireguardDump(text: string): string {
  return text.split("\n").map((line) => {
    const f = line.split("\t");
    const secret = f.length === 5 ? 1 : f.length === 9 ? 2 : -1;
    if (secret >= 0 && f[secret] !== "(none)") f[secret] = "(hidden)";
    return f.join("\t");
  }).join("\n");
}

/** The sysctls read for every interface (and `all`, `default`): see src/facts/sysctl.ts. */
const SYSCTL_KEYS = ["net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables", "net.netfilter.nf_conntrack_tcp_loose"];

/**
 * What is gathered. Routes of each family apart: without -4, `ip route show table all` prints
 * the IPv6 routes too (iproute2 6.1), which ip6-route.json already holds.
 */
export const COLLECTED: readonly Collected[] = [
  { file: "iptables-save.txt", command: ["iptables-save", "-c"], required: true },
  { file: "ip6tables-save.txt", command: ["ip6tables-save", "-c"], required: false },
  { file: "ipset-save.txt", command: ["ipset", "save"], required: false },
  { file: "ip-addr.json", command: ["ip", "-j", "addr"], required: true },
  { file: "ip-route.json", command: ["ip", "-j", "-4", "route", "show", "table", "all"], required: true },
  { file: "ip6-route.json", command: ["ip", "-j", "-6", "route", "show", "table", "all"], required: false },
  { file: "ip-rule.json", command: ["ip", "-j", "rule", "show"], required: false },
  { file: "ip6-rule.json", command: ["ip", "-j", "-6", "rule", "show"], required: false },
  // Tunnels: the devices' settings (VXLAN's VNI, port, local address), the tables their outer
  // packets are chosen by, and WireGuard's peers. Nodes without them or without wg lose nothing else.
  { file: "ip-link.json", command: ["ip", "-d", "-j", "link", "show"], required: false },
  { file: "bridge-fdb.json", command: ["bridge", "-j", "fdb", "show"], required: false },
  { file: "ip-neigh.json", command: ["ip", "-j", "neigh", "show"], required: false },
  {
    file: "wg-dump.txt",
    command: ["wg", "show", "all", "dump"],
    required: false,
    redact: redactWireguardDump,
    recipe: `wg show all dump | awk -F '\\t' -v OFS='\\t' 'NF == 5 && $2 != "(none)" { $2 = "(hidden)" } NF == 9 && $3 != "(none)" { $3 = "(hidden)" } 1'`,
  },
  {
    file: "sysctl.txt",
    command: ["sysctl", ...SYSCTL_KEYS],
    required: false,
    partial: true,
    // Each /proc/sys path with its dots and slashes swapped is the key as sysctl names it.
    recipe: `sysctl ${SYSCTL_KEYS.join(" ")} $(cd /proc/sys && ls -d ${(["ipv4", "ipv6"] as const).flatMap((f) => CONF_READ[f].map((k) => `net/${f}/conf/*/${k}`)).join(" ")} | tr ./ /.)`,
  },
  // The node's name in a cluster of bundles (--cluster). uname is in coreutils, on every node;
  // a node debug pod shares the node's UTS namespace, so it prints the node's name there too.
  { file: "hostname.txt", command: ["uname", "-n"], required: false },
  // The IPVS virtual servers (kube-proxy's IPVS mode), absent where ipvsadm is not installed:
  // what ipvsadm-save -n prints (it runs `ipvsadm -S -n`), but with --nosort, so that the real
  // servers come in the kernel's order, which the list-walking schedulers follow.
  { file: "ipvsadm.txt", command: ["ipvsadm", "-S", "-n", "--nosort"], required: false },
  // IPVS's own settings, in a file of their own: they exist only where the ip_vs module is loaded.
  { file: "sysctl-ipvs.txt", command: ["sysctl", "net.ipv4.vs.conntrack", "net.ipv4.vs.sloppy_tcp"], required: false },
  // The nftables ruleset (kube-proxy's nftables mode, firewalld, Docker's nftables backend, a
  // distribution's nftables.conf), absent where nft is not installed. The JSON is what netfate
  // reads; the text is the same ruleset for a person reading the bundle, as bug reports paste it.
  {
    file: "nftables.json",
    command: ["nft", "-j", "list", "ruleset"],
    required: false,
    holds: "the whole nftables ruleset as JSON, every family, with counters, set elements and rule handles; the tables iptables-nft made are in it too (the rules of iptables-save.txt, in nft's terms)",
  },
  {
    file: "nftables.nft",
    command: ["nft", "list", "ruleset"],
    required: false,
    holds: "the same ruleset as nftables.json, as nft prints it for people; netfate does not read it",
  },
];

/**
 * The routing sysctls of `all`, `default` and every interface there is (in this network
 * namespace), named as sysctl names them (a dot in an interface name becomes a slash).
 */
function confSysctlKeys(): string[] {
  const keys: string[] = [];
  for (const family of ["ipv4", "ipv6"] as const) {
    let ifaces: string[];
    try {
      ifaces = readdirSync(`/proc/sys/net/${family}/conf`).sort();
    } catch {
      // No IPv6 on this node (or no /proc): sysctl is asked for `all` and says what is missing.
      ifaces = ["all"];
    }
    for (const i of ifaces) for (const k of CONF_READ[family]) keys.push(confKey(family, i, k));
  }
  return keys;
}

function commandOf(c: Collected): string[] {
  return c.file === "sysctl.txt" ? [...c.command, ...confSysctlKeys()] : c.command;
}

/** A command's output beyond this is not a dump of one node's rules (the read limit is 512 MiB). */
const MAX_OUTPUT = 512 * 1024 * 1024;

const USAGE = `usage: netfate collect DIR

Gathers iptables-save -c, ip6tables-save -c, ipset save, ip -j addr, every routing table
(ip -j route show table all), the policy routing rules (ip -j rule), the routing sysctls
of every interface, the tunnels' settings and tables (ip -d -j link, bridge -j fdb, ip -j neigh,
wg show all dump with its keys hidden), the node's name (uname -n), where IPVS is used its
virtual servers (ipvsadm -S -n --nosort) and settings, and where nft is installed the nftables
ruleset (nft -j list ruleset, and nft list ruleset for reading) into DIR, with a ${MANIFEST}
saying which command made each file, how it exited and what it holds.
DIR must not exist yet, or be empty. Then, anywhere: netfate why-dropped --bundle DIR PACKET

On a Kubernetes node without a shell, collect through a debug pod in the node's namespaces:

  kubectl debug node/NODE -it --image=debian:12 -- chroot /host sh -c 'npx netfate collect /tmp/netfate'
  kubectl cp NODE-debug-pod:/host/tmp/netfate ./netfate-NODE

or, without netfate on the node, run these commands there and copy their output into files of the
same names (such a bundle has no manifest; --bundle reads it by the names):
${COLLECTED.map((c) => `  ${c.recipe ?? c.command.join(" ")} > ${c.file}`).join("\n")}
Exit status: 0 when everything needed was collected, 2 otherwise.`;

/** DIR may be absent or an empty directory (not a link to one): anything else is refused. */
function checkTarget(dir: string): void {
  let st;
  try {
    st = lstatSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new UsageError(`cannot use ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (st.isSymbolicLink()) throw new UsageError(`${dir} is a symbolic link; give a new directory name`);
  if (!st.isDirectory()) throw new UsageError(`${dir} exists and is not a directory; give a new directory name`);
  if (readdirSync(dir).length > 0) throw new UsageError(`${dir} is not empty; give a new or empty directory (files of an earlier run would be mixed with this one's)`);
}

/** A new file in our own fresh directory: never through a link, never over a file. */
function createFile(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o666);
  try {
    const buf = Buffer.from(text, "utf8");
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
  } finally {
    closeSync(fd);
  }
}

function runOne(cmd: string[], partial: boolean): { stdout?: string; entry: ManifestEntry } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8", maxBuffer: MAX_OUTPUT });
  if (r.error) return { entry: { command: cmd, exit: r.status ?? null, error: (r.error as NodeJS.ErrnoException).code ?? r.error.message } };
  if (r.status !== 0) {
    const why = (r.stderr || "").trim().split("\n")[0] || (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`);
    // What it printed before or besides the failure is an answer for those keys; the manifest keeps the failure.
    if (partial && r.signal === null && r.stdout) return { stdout: r.stdout, entry: { command: cmd, exit: r.status, error: why } };
    return { entry: { command: cmd, exit: r.status, error: why } };
  }
  // Empty output with exit 0 is an answer (iptables-save on a node with no rules): kept.
  return { stdout: r.stdout, entry: { command: cmd, exit: 0 } };
}

export function runCollect(argv: string[], io: CommandIO): number {
  const args = parseArgs(argv, COLLECT_FLAGS);
  if (flagSet(args, "help")) {
    io.out(helpText(USAGE, COLLECT_FLAGS));
    return 0;
  }
  if (args.positionals.length !== 1) throw new UsageError(`collect needs one DIR to write into (got ${args.positionals.length} arguments)`);
  const quiet = flagSet(args, "quiet");
  const dir = resolve(args.positionals[0]!);
  checkTarget(dir);
  let tmp: string;
  try {
    mkdirSync(dirname(dir), { recursive: true });
    tmp = mkdtempSync(join(dirname(dir), `.${basename(dir)}.tmp-`));
  } catch (e) {
    throw new UsageError(`cannot create a directory beside ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    let failed = 0;
    const manifest: Manifest = { format: MANIFEST_FORMAT, version: 1, collected: new Date().toISOString(), entries: [] };
    for (const c of COLLECTED) {
      const { file, required } = c;
      const cmd = commandOf(c);
      // A long key list is not worth a screen of progress.
      const shown = cmd.length > 8 ? `${cmd[0]} (${cmd.length - 1} keys)` : cmd.join(" ");
      const { stdout: printed, entry } = runOne(cmd, c.partial === true);
      const stdout = printed !== undefined && c.redact ? c.redact(printed) : printed;
      if (stdout !== undefined) {
        createFile(join(tmp, file), stdout);
        entry.file = file;
        entry.bytes = Buffer.byteLength(stdout, "utf8");
        if (c.holds) entry.holds = c.holds;
        if (!quiet) io.err(`${file}: ${shown}, ${entry.bytes} bytes${entry.bytes === 0 ? " (empty)" : ""}${entry.error ? ` (exit ${entry.exit}, kept what it printed: ${entry.error})` : ""}\n`);
      } else {
        if (required) failed++;
        if (required || !quiet) io.err(`${required ? "error" : "note"}: ${shown}: ${entry.error}\n`);
      }
      manifest.entries.push(entry);
    }
    createFile(join(tmp, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
    // mkdtemp made it 0700; the bundle gets the mode any new directory would (the umask decides).
    chmodSync(tmp, 0o777 & ~process.umask());
    try {
      // Onto an absent name or an empty directory: rename(2) does either atomically, and
      // refuses (ENOTEMPTY, EEXIST) if something was put there since checkTarget looked.
      renameSync(tmp, dir);
    } catch (e) {
      throw new UsageError(`cannot put the bundle at ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    io.out(`${args.positionals[0]}: use it with  netfate why-dropped --bundle ${args.positionals[0]} "tcp SRC:PORT -> DST:PORT in IFACE"\n`);
    return failed ? 2 : 0;
  } finally {
    // Only our own temporary directory, and only if the rename did not take it.
    rmSync(tmp, { recursive: true, force: true });
  }
}
