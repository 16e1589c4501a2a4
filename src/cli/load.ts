/**
 * Gathers what an evaluation needs from the command line: rule dumps, ipsets, node facts
 * (files, a `collect` bundle, or the --iface/--local-addr shortcuts). Problems reading them
 * are UsageErrors (one clear line, exit 2); located parse diagnostics are returned.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { readTextFile } from "../text-file.js";
import { join } from "node:path";
import type { TableName } from "../model/ast.js";
import { isTableName } from "../model/ast.js";
import { assembleInputs, InputError, type AssembledInputs } from "../assemble.js";
import { flagValue, flagValues, UsageError, type FlagSpec, type ParsedArgs } from "./args.js";
import type { CommandIO } from "./io.js";

export const INPUT_FLAGS: FlagSpec[] = [
  { name: "rules", short: "r", value: true, repeatable: true, help: "rule dump (iptables-save, -S or -L output; - for stdin); repeatable" },
  { name: "ipsets", value: true, repeatable: true, help: "ipset save / ipset list output" },
  { name: "node", short: "n", value: true, repeatable: true, help: "node facts: ip -j addr, ip -j route, ip addr, ip route, route -n or node.json; repeatable" },
  { name: "bundle", short: "b", value: true, help: "a directory made by `netfate collect`" },
  { name: "iface", value: true, repeatable: true, help: "shortcut for node facts: NAME=CIDR (e.g. eth0=192.168.0.11/24); repeatable" },
  { name: "local-addr", value: true, repeatable: true, help: "shortcut: an address of this node (on lo); repeatable" },
  { name: "route", value: true, repeatable: true, help: "shortcut: an `ip route` line, e.g. \"default via 192.168.0.1 dev eth0\"; repeatable" },
  { name: "table", short: "t", value: true, help: "table of dumps that do not name it (-S, -L output)" },
];

export type LoadedInputs = AssembledInputs;

function readText(file: string, io: CommandIO): string {
  try {
    if (file === "-") return io.readStdin();
    if (statSync(file).isDirectory()) throw new UsageError(`${file} is a directory (use --bundle for a collect directory)`);
    return readTextFile(file);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Files of a `netfate collect` bundle, by what they hold (names as collect writes them). */
function bundleFiles(dir: string): { rules: string[]; ipsets: string[]; node: string[] } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--bundle ${dir}: not a directory`);
  const names = new Set(readdirSync(dir));
  const pick = (list: string[]) => list.filter((n) => names.has(n)).map((n) => join(dir, n));
  const b = {
    rules: pick(["iptables-save.txt", "ip6tables-save.txt"]),
    ipsets: pick(["ipset-save.txt"]),
    node: pick(["ip-addr.json", "ip-route.json", "ip6-route.json", "sysctl.txt", "node.json"]),
  };
  if (b.rules.length === 0) throw new UsageError(`--bundle ${dir}: no iptables-save.txt in it (made by netfate collect?)`);
  return b;
}

export function loadInputs(args: ParsedArgs, io: CommandIO): LoadedInputs {
  const table = flagValue(args, "table");
  if (table !== undefined && !isTableName(table)) throw new UsageError(`unknown table ${table}; one of raw, mangle, nat, filter, security`);
  let rules = flagValues(args, "rules");
  let ipsetFiles = flagValues(args, "ipsets");
  let nodeFiles = flagValues(args, "node");
  const bundle = flagValue(args, "bundle");
  if (bundle) {
    const b = bundleFiles(bundle);
    rules = [...rules, ...b.rules];
    ipsetFiles = [...ipsetFiles, ...b.ipsets];
    nodeFiles = [...nodeFiles, ...b.node];
  }
  if (rules.length === 0) throw new UsageError("no rules given: use --rules FILE (iptables-save output) or --bundle DIR");
  const texts = (files: string[]) => files.map((f) => ({ file: f, text: readText(f, io) }));
  try {
    return assembleInputs({
      rules: texts(rules),
      ipsets: texts(ipsetFiles),
      node: texts(nodeFiles),
      shortcuts: { ifaces: flagValues(args, "iface"), localAddrs: flagValues(args, "local-addr"), routes: flagValues(args, "route") },
      ...(table ? { table: table as TableName } : {}),
    });
  } catch (e) {
    if (e instanceof InputError) throw new UsageError(e.message);
    throw e;
  }
}
