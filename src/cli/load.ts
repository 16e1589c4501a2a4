/**
 * Gathers what an evaluation needs from the command line: rule dumps, ipsets, node facts
 * (files, a `collect` bundle, or the --iface/--local-addr shortcuts). Problems reading them
 * are UsageErrors (one clear line, exit 2); located parse diagnostics are returned.
 */
import type { TableName } from "../model/ast.js";
import { isTableName } from "../model/ast.js";
import { assembleInputs, InputError, type AssembledInputs, type Shortcuts, type TextInput } from "../assemble.js";
import { flagValue, flagValues, UsageError, type FlagSpec, type ParsedArgs } from "./args.js";
import { DEFAULT_MAX_INPUT, parseSize, readRegularFile, sizeText } from "./bounded-read.js";
import { readBundle, type BundleTexts } from "./bundle.js";
import type { CommandIO } from "./io.js";
import { FileCache } from "./cache.js";
import type { InputCache } from "../inputs.js";
import { withReadingInlining } from "./parse-inlining.js";
import { residentInputs } from "./resident-inputs.js";

export const MAX_INPUT_FLAG: FlagSpec = {
  name: "max-input-size", value: true,
  help: `refuse an input file larger than this (default ${sizeText(DEFAULT_MAX_INPUT)}; e.g. 200M, 1G)`,
};

export const CACHE_FLAG: FlagSpec = { name: "cache", value: true, help: "keep parsed rule dumps in DIR and read them from there when the same dump is given again (also NETFATE_CACHE=DIR)" };

export const INPUT_FLAGS: FlagSpec[] = [
  { name: "rules", short: "r", value: true, repeatable: true, help: "rule dump (iptables-save, -S or -L output; - for stdin); repeatable" },
  { name: "ipsets", value: true, repeatable: true, help: "ipset save / ipset list output" },
  { name: "node", short: "n", value: true, repeatable: true, help: "node facts: ip -j addr, ip -j route, ip -j rule, ip addr, ip route, ip rule, route -n, sysctl or node.json; repeatable" },
  { name: "ipvs", value: true, repeatable: true, help: "IPVS virtual servers: ipvsadm-save -n or ipvsadm -Ln output; repeatable" },
  { name: "bundle", short: "b", value: true, help: "a directory made by `netfate collect`" },
  { name: "iface", value: true, repeatable: true, help: "shortcut for node facts: NAME=CIDR (e.g. eth0=192.168.0.11/24); repeatable" },
  { name: "local-addr", value: true, repeatable: true, help: "shortcut: an address of this node (on lo); repeatable" },
  { name: "route", value: true, repeatable: true, help: "shortcut: an `ip route` line, e.g. \"default via 192.168.0.1 dev eth0\"; repeatable" },
  { name: "table", short: "t", value: true, help: "table of dumps that do not name it (-S, -L output)" },
  MAX_INPUT_FLAG,
  CACHE_FLAG,
];

export type LoadedInputs = AssembledInputs;

/** The flags whose value may be `-`, for stdin. */
const STDIN_FLAGS = ["rules", "ipsets", "node", "ipvs", "packets"];

/**
 * stdin can be read once: a second `-` would silently get the same text (or nothing).
 * `positionals` are the command's own file arguments, when it takes any.
 */
export function refuseSecondStdin(args: ParsedArgs, positionals: readonly string[] = []): void {
  const uses = [...STDIN_FLAGS.flatMap((f) => flagValues(args, f).filter((v) => v === "-").map(() => `--${f} -`)), ...positionals.filter((p) => p === "-")];
  if (uses.length > 1) throw new UsageError(`stdin can be read only once, but ${uses.join(" and ")} both ask for it: save one of them to a file`);
}

/**
 * Reads every input of one command: each file once (a second ask gets the text already read),
 * regular files only, at most --max-input-size bytes each; `-` is stdin.
 */
export class InputReader {
  readonly limit: number;
  /** The cache of parsed dumps the command was given, if any. */
  readonly cache: InputCache | undefined;
  private readonly texts = new Map<string, string>();
  private readonly bundles = new Map<string, BundleTexts>();
  /** `cache`: the one --cache (NETFATE_CACHE) names, unless a test gives its own. */
  constructor(private readonly io: CommandIO, args: ParsedArgs, cache: InputCache | undefined = cacheOf(args, io)) {
    const v = flagValue(args, "max-input-size");
    this.limit = v === undefined ? DEFAULT_MAX_INPUT : parseSize("max-input-size", v);
    this.cache = cache;
  }

  read(file: string): string {
    // stdin has no identity a cache could know it by: it is hashed whenever it is looked up.
    if (file === "-") return this.io.readStdin(this.limit);
    const read = () => readRegularFile(file, { limit: this.limit, directoryHint: "use --bundle for a collect directory" });
    // A file the cache knows by its identity is read without being hashed (cli/cache-identity.ts).
    const disk = this.cache instanceof FileCache ? () => (this.cache as FileCache).readFile(file, this.limit, read) : read;
    // A long-lived process (netfate serve) keeps what it read while the file is unchanged.
    const resident = residentInputs();
    return this.cached(file, resident ? () => resident.readFile(file, this.limit, disk) : disk);
  }

  /** A collect bundle's texts, read once. */
  bundle(dir: string): BundleTexts {
    let b = this.bundles.get(dir);
    if (!b) {
      b = readBundle(dir, (path, limit) => this.cached(path, () => readRegularFile(path, { limit: limit ?? this.limit, noFollow: true })));
      this.bundles.set(dir, b);
    }
    return b;
  }

  private cached(path: string, read: () => string): string {
    let t = this.texts.get(path);
    if (t === undefined) {
      t = read();
      this.texts.set(path, t);
    }
    return t;
  }
}

/** The texts one evaluation's inputs are made of, as the flags (or a command's own arguments) name them. */
export interface InputTexts {
  rules: TextInput[];
  ipsets: TextInput[];
  node: TextInput[];
  /** ipvsadm output (--ipvs, a bundle's ipvsadm.txt). */
  ipvs?: TextInput[];
  /** The bundle the texts above include, when one was given. */
  bundle?: BundleTexts;
  shortcuts: Shortcuts;
  table?: TableName;
  /** Where parsed rule dumps are kept between runs (--cache, NETFATE_CACHE). */
  cache?: InputCache;
}

/** The cache --cache DIR (else NETFATE_CACHE) names, if any; what goes wrong with it is said on stderr. */
export function cacheOf(args: ParsedArgs, io: CommandIO): InputCache | undefined {
  const dir = flagValue(args, "cache") ?? process.env.NETFATE_CACHE;
  const disk = dir === undefined || dir === "" ? undefined : new FileCache(dir, (m) => io.err(`netfate: note: ${m}\n`));
  return residentInputs()?.over(disk) ?? disk;
}

/** Where the rules come from when not from the --rules and --bundle flags (diff's OLD and NEW). */
export type RulesSource = { rules: string } | { bundle: string };

/**
 * Reads the texts the input flags name, each through `reader` (so once per command): the
 * rules, ipsets and node facts files, then the bundle's. `source` stands for the --rules and
 * --bundle flags.
 */
export function readInputTexts(args: ParsedArgs, reader: InputReader, source?: RulesSource): InputTexts {
  const cache = reader.cache;
  const table = flagValue(args, "table");
  if (table !== undefined && !isTableName(table)) throw new UsageError(`unknown table ${table}; one of raw, mangle, nat, filter, security`);
  refuseSecondStdin(args);
  const texts = (files: string[]): TextInput[] => files.map((f) => ({ file: f, text: reader.read(f) }));
  const rules = texts(source ? ("rules" in source ? [source.rules] : []) : flagValues(args, "rules"));
  const ipsets = texts(flagValues(args, "ipsets"));
  const node = texts(flagValues(args, "node"));
  const ipvs = texts(flagValues(args, "ipvs"));
  const bundleDir = source ? ("bundle" in source ? source.bundle : undefined) : flagValue(args, "bundle");
  const bundle = bundleDir ? reader.bundle(bundleDir) : undefined;
  if (bundle) {
    rules.push(...bundle.rules);
    ipsets.push(...bundle.ipsets);
    node.push(...bundle.node);
    ipvs.push(...bundle.ipvs);
  }
  if (rules.length === 0) throw new UsageError("no rules given: use --rules FILE (iptables-save output) or --bundle DIR");
  return {
    rules, ipsets, node, ...(ipvs.length ? { ipvs } : {}), ...(bundle ? { bundle } : {}),
    shortcuts: { ifaces: flagValues(args, "iface"), localAddrs: flagValues(args, "local-addr"), routes: flagValues(args, "route") },
    ...(table ? { table: table as TableName } : {}),
    ...(cache ? { cache } : {}),
  };
}

/** The rulesets and views `buildNode` takes, from the texts; a bundle's notes come first. */
export function assembleTexts(t: InputTexts): LoadedInputs {
  try {
    const inputs = withReadingInlining(() => assembleInputs({ rules: t.rules, ipsets: t.ipsets, node: t.node, shortcuts: t.shortcuts, ...(t.table ? { table: t.table } : {}), ...(t.ipvs ? { ipvs: t.ipvs } : {}), ...(t.cache ? { cache: t.cache } : {}) }));
    return { ...inputs, notes: [...(t.bundle?.notes ?? []), ...inputs.notes] };
  } catch (e) {
    if (e instanceof InputError) throw new UsageError(e.message);
    throw e;
  }
}

export function loadInputs(args: ParsedArgs, io: CommandIO, reader = new InputReader(io, args)): LoadedInputs {
  return assembleTexts(readInputTexts(args, reader));
}
