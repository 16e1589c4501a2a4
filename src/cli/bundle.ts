/**
 * A `netfate collect` bundle: a directory of command outputs and a manifest.json saying which
 * command made each file, how it exited and how many bytes it wrote. `collect` writes it,
 * `--bundle` reads it: only the files the manifest names, each a regular file (no symbolic
 * links), so a stray file, FIFO or link in the directory is never read.
 */
import { lstatSync, statSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "./args.js";
import type { TextInput } from "../assemble.js";
import type { FactsFormat } from "../facts/parse.js";

export type BundleKind = "rules" | "ipsets" | "node" | "hostname" | "ipvs" | "for-people";

/** Every file a bundle may hold, by what it holds. Nothing else in the directory is read. */
export const BUNDLE_FILES: ReadonlyMap<string, BundleKind> = new Map([
  ["iptables-save.txt", "rules"],
  ["ip6tables-save.txt", "rules"],
  // `nft -j list ruleset`: native nftables tables (kube-proxy's nftables mode, firewalld...) and,
  // on an iptables-nft node, iptables' own tables again (evaluated from the dumps above).
  ["nftables.json", "rules"],
  ["ipset-save.txt", "ipsets"],
  ["ip-addr.json", "node"],
  ["ip-route.json", "node"],
  ["ip6-route.json", "node"],
  ["ip-rule.json", "node"],
  ["ip6-rule.json", "node"],
  ["sysctl.txt", "node"],
  ["sysctl-ipvs.txt", "node"],
  ["node.json", "node"],
  ["ip-link.json", "node"],
  ["bridge-fdb.json", "node"],
  ["ip-neigh.json", "node"],
  ["wg-dump.txt", "node"],
  // The node's name in a cluster (`uname -n`); optional, older bundles do not have it.
  ["hostname.txt", "hostname"],
  ["ipvsadm.txt", "ipvs"],
  // nftables.json's `nft list ruleset` twin is for a person reading the bundle and is not read.
  ["nftables.nft", "for-people"],
]);

/** Node files whose format their name says: an empty table (`[]`, or no output from wg) is then read as "none". */
const NODE_FORMATS: ReadonlyMap<string, FactsFormat> = new Map<string, FactsFormat>([
  ["bridge-fdb.json", "bridge-fdb-json"],
  ["ip-neigh.json", "ip-neigh-json"],
  ["wg-dump.txt", "wg-dump"],
]);

export const MANIFEST = "manifest.json";
export const MANIFEST_FORMAT = "netfate-bundle";
/** A manifest lists a handful of commands: anything near this size is not one. */
const MANIFEST_LIMIT = 1 << 20;

/** One command run by collect. `file` is absent when the command failed and wrote nothing. */
export interface ManifestEntry {
  command: string[];
  /** The exit status; null when the command could not be run (then `error` says why). */
  exit: number | null;
  file?: string;
  bytes?: number;
  error?: string;
  /** What the file holds, where its name and command do not say enough. */
  holds?: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  collected: string;
  entries: ManifestEntry[];
}

export interface BundleTexts {
  rules: TextInput[];
  ipsets: TextInput[];
  node: TextInput[];
  ipvs: TextInput[];
  /** What the node called itself when collected. */
  hostname?: TextInput;
  notes: string[];
}

export interface ReadBundleOptions {
  /**
   * A bundle without rules is a node with facts only (a node of a cluster whose rules were
   * not given): said in a note instead of refused.
   */
  allowNoRules?: boolean;
  /** How problems name the bundle (default `--bundle DIR`). */
  label?: string;
}

/** Reads one file of the bundle: a regular file, not followed if it is a link, size-capped. */
export type BundleFileReader = (path: string, limit?: number) => string;

function manifestEntries(label: string, text: string): ManifestEntry[] {
  const bad = (why: string) => new UsageError(`${label}: ${MANIFEST} ${why}`);
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw bad(`is not JSON (${(e as Error).message})`);
  }
  const o = m as Partial<Manifest> | null;
  if (!o || typeof o !== "object" || o.format !== MANIFEST_FORMAT) throw bad(`is not a netfate bundle manifest (no "format": "${MANIFEST_FORMAT}")`);
  if (o.version !== 1) throw bad(`has version ${JSON.stringify(o.version)}; this netfate reads version 1`);
  if (!Array.isArray(o.entries)) throw bad(`has no "entries" list`);
  const seen = new Set<string>();
  return o.entries.map((e: Partial<ManifestEntry>, i) => {
    if (!e || typeof e !== "object" || !Array.isArray(e.command)) throw bad(`entry ${i + 1} has no "command"`);
    if (e.file !== undefined) {
      // Names, not paths: a manifest cannot make us read outside the bundle or a file we do not know.
      if (typeof e.file !== "string" || !BUNDLE_FILES.has(e.file)) throw bad(`entry ${i + 1} names ${JSON.stringify(e.file)}, which is not a bundle file (${[...BUNDLE_FILES.keys()].join(", ")})`);
      if (seen.has(e.file)) throw bad(`names ${e.file} twice`);
      seen.add(e.file);
    }
    return e as ManifestEntry;
  });
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The texts of a bundle, by kind. With a manifest, exactly the files it names; without one
 * (a bundle from a netfate before manifests), the known names that are present, with a note.
 */
export function readBundle(dir: string, read: BundleFileReader, opts: ReadBundleOptions = {}): BundleTexts {
  let isDir = false;
  try {
    // The directory itself may be a link the user made; the files in it may not.
    isDir = statSync(dir).isDirectory();
  } catch {
    /* not there */
  }
  const label = opts.label ?? `--bundle ${dir}`;
  if (!isDir) throw new UsageError(`${label}: not a directory`);
  const out: BundleTexts = { rules: [], ipsets: [], node: [], ipvs: [], notes: [] };
  const manifestPath = join(dir, MANIFEST);
  let files: Array<{ name: string; bytes?: number; command?: string[] }>;
  let entries: ManifestEntry[] = [];
  if (exists(manifestPath)) {
    entries = manifestEntries(label, read(manifestPath, MANIFEST_LIMIT));
    files = entries.filter((e) => e.file !== undefined).map((e) => ({ name: e.file!, ...(typeof e.bytes === "number" ? { bytes: e.bytes } : {}), command: e.command.map(String) }));
  } else {
    files = [...BUNDLE_FILES.keys()].filter((n) => exists(join(dir, n))).map((name) => ({ name }));
    out.notes.push(`${dir}: no ${MANIFEST} (a bundle from an older netfate collect): reading the files it has by their known names`);
  }
  for (const f of files) {
    const kind = BUNDLE_FILES.get(f.name)!;
    // A file kept for people reading the bundle is not read.
    if (kind === "for-people") continue;
    const path = join(dir, f.name);
    const text = read(path);
    if (f.bytes !== undefined && Buffer.byteLength(text, "utf8") !== f.bytes) {
      out.notes.push(`${path}: ${Buffer.byteLength(text, "utf8")} bytes, but ${f.bytes} when collected: changed since`);
    }
    // An empty dump is an answer (no rules of that family were loaded), not a dump to parse.
    if (kind === "rules" && text.trim() === "") {
      out.notes.push(`${path} is empty: the node had no ${f.name.startsWith("ip6") ? "ip6tables" : "iptables"} rules when collected`);
      continue;
    }
    if (kind === "hostname") {
      out.hostname = { file: path, text };
      continue;
    }
    const format = NODE_FORMATS.get(f.name);
    // wg prints nothing on a node without WireGuard devices: no facts to read, and nothing wrong.
    if (format && text.trim() === "") continue;
    out[kind].push({ file: path, text, ...(format ? { format } : {}), ...(f.command ? { command: f.command } : {}) });
  }
  if (out.rules.length === 0) {
    const failed = entries.find((e) => e.command[0] === "iptables-save" && e.file === undefined);
    const hadEmpty = files.some((f) => BUNDLE_FILES.get(f.name) === "rules");
    const why = hadEmpty ? "the node had no iptables rules when collected (its dumps are empty)"
      : failed ? `no iptables-save.txt (${failed.command.join(" ")} failed when collected: ${failed.error ?? `exit ${failed.exit}`})`
      : "no iptables-save.txt in it";
    if (!opts.allowNoRules) throw new UsageError(`${label}: ${hadEmpty ? `${why}: nothing to trace` : failed ? why : `${why} (made by netfate collect?)`}`);
    out.notes.push(`${dir}: ${why}`);
  }
  return out;
}
