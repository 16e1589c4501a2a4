/**
 * `--cache DIR` (or NETFATE_CACHE=DIR): parsed rule dumps kept between runs, so that a further
 * question about the same node does not parse its dump again.
 *
 * An entry is keyed by everything its result depends on: the SHA-256 of the input's text,
 * the file name (diagnostics name it), the reading options, and this build of netfate (the
 * version, and the size and time of every module of the installed code: a rebuilt parser never
 * reads an older one's entries). The key is stored in the entry and compared, so a hash
 * collision of file names or a foreign file cannot pass. An entry is written to a temporary
 * file and renamed into place (readers never see half of one), and carries its length and a
 * CRC-32 of its contents: a truncated, corrupt or foreign entry is ignored, said on stderr,
 * and written again. No failure of the cache (a directory that cannot be written, a full
 * disk) stops a command: it goes on without.
 *
 * Bounded: at most MAX_ENTRIES entries and MAX_BYTES bytes; after each write the least
 * recently used entries beyond either bound are removed (an entry read is marked used).
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeSync, type BigIntStats } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import type { InputCache, InputResult, ReadInputOptions } from "../inputs.js";
import { decodeResult, encodeResult } from "./cache-format.js";
import { BadEntry } from "./cache-errors.js";
import { encodeIdentity, IDENTITY_SUFFIX, identityOf, identityPath, readTrusted, sameIdentity, settled, textFacts, type FileIdentity } from "./cache-identity.js";
import { BYTES_PER_LINE } from "./bounded-read.js";
import { crc32 } from "./cache-crc.js";

export { crc32Here } from "./cache-crc.js";

export const MAX_ENTRIES = 32;
export const MAX_BYTES = 512 * 1024 * 1024;
/** Identity records (cli/cache-identity.ts) kept: a few lines each. */
export const MAX_IDENTITIES = 4 * MAX_ENTRIES;
/** Temporary files older than this were left by a writer that died: removed when cleaning up. */
const STALE_TEMP_MS = 60 * 60 * 1000;

// 2: tables carry what compiling them finds (netfilter/compile-facts.ts), long chains their index.
const MAGIC = "netfate-cache 2\n";

// Loaded when a cache is used, not by every command that could take one (start-up).
const require = createRequire(import.meta.url);
let crypto: typeof import("node:crypto") | undefined;

function createHash(algorithm: string): import("node:crypto").Hash {
  crypto ??= require("node:crypto") as typeof import("node:crypto");
  return crypto.createHash(algorithm);
}

const SUFFIX = ".entry";

function statOf(path: string): BigIntStats | undefined {
  try {
    return statSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}

interface Header {
  key: string;
  /** Bytes of the JSON part; the binary part is the rest. */
  json: number;
  /** Bytes after the header line. */
  bytes: number;
  crc: number;
}

let build: string | undefined;

/** The shipped bundle's identity, a hash of all its code, put there by src/cli/build-cli.mjs (not defined in tsc's output). */
declare const NETFATE_BUILD_ID: string | undefined;

/**
 * This build of netfate: the bundle's own identity, or (tsc's output, run unbundled) its
 * version and the size and modification time of each of its modules (dist/), so that any
 * change to the code that parses makes new keys.
 */
export function buildId(): string {
  if (build) return build;
  if (typeof NETFATE_BUILD_ID === "string") return (build = NETFATE_BUILD_ID);
  const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const h = createHash("sha256");
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".js")) {
        const st = statSync(p);
        h.update(`${p}\0${st.size}\0${st.mtimeMs}\n`);
      }
    }
  };
  let version = "?";
  try {
    version = (JSON.parse(readFileSync(join(dist, "..", "package.json"), "utf8")) as { version?: string }).version ?? "?";
    walk(join(dist, "src"));
    walk(join(dist, "grammar"));
  } catch {
    // A layout this does not know: the version alone, and the time this process started, so
    // that nothing is shared with another build by mistake (the cache then helps no one).
    h.update(`unknown layout ${process.pid} ${Date.now()}`);
  }
  build = `${version} ${h.digest("hex").slice(0, 32)}`;
  return build;
}

/** The key of reading `text` with `opts`: every option that changes the result, and the text's hash. */
export function entryKey(text: string, opts: ReadInputOptions, hash = textHash(text)): string {
  const o = { file: opts.file, format: opts.format ?? "auto", family: opts.family ?? null, table: opts.table ?? null, deferRules: opts.deferRules ?? true };
  return `${buildId()}\n${JSON.stringify(o)}\n${hash}`;
}

/**
 * An entry's file name: a hash of its key that needs no cryptography (the key itself is
 * stored in the entry and compared, so two keys with one name only make one parse again).
 * Two 32-bit FNV-1a hashes of different seeds, 16 hex digits.
 */
function nameOf(key: string): string {
  let a = 0x811c9dc5, b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/**
 * SHA-256 of the text, as latin1 bytes when every character has one (then the bytes are the
 * text, one to one; hashing a 17 MB dump so takes half the time its UTF-8 takes, which Node
 * makes first), else as UTF-8; the two kinds of hash are told apart by their prefix.
 */
export function textHash(text: string): string {
  // Answered at once for a string V8 keeps one byte per character (what a dump read as UTF-8 is when it is Latin-1).
  const oneByte = !/[^\x00-\xff]/.test(text);
  return `${oneByte ? "latin1" : "utf8"}:${createHash("sha256").update(text, oneByte ? "latin1" : "utf8").digest("hex")}`;
}

export class FileCache implements InputCache {
  private usable = true;
  /** Texts whose hash is known: hashed here, or read by their file's identity (`recorded`). */
  private readonly known: { text: string; hash: string; recorded: boolean }[] = [];
  /** Texts read as usual from a file whose identity is recorded once their hash is known. */
  private readonly pending: { text: string; id: FileIdentity }[] = [];
  /** How the texts this cache was asked about were known: by their file's identity, or hashed. */
  readonly counts = { trusted: 0, hashed: 0 };

  /**
   * `note`: one line for the user (a corrupt entry, a directory that cannot be used); `now`:
   * the clock that tells whether a file's times are settled (tests give a later one).
   */
  constructor(readonly dir: string, private readonly note: (message: string) => void, private readonly now: () => number = Date.now) {}

  private pathOf(key: string): string {
    return join(this.dir, nameOf(key) + SUFFIX);
  }

  /**
   * The text of the regular file `path` (at most `limit` bytes), and its hash when a record
   * knows the file's identity (cli/cache-identity.ts); else `read()` reads it as usual, and a
   * file whose identity held still while it was read is recorded once its text is hashed.
   */
  readFile(path: string, limit: number, read: () => string, duringRead?: () => void): string {
    const trusted = this.usable ? readTrusted(path, this.dir, limit, Math.floor(limit / BYTES_PER_LINE), duringRead) : undefined;
    if (trusted) {
      this.known.push({ text: trusted.text, hash: trusted.facts.hash, recorded: true });
      return trusted.text;
    }
    const before = statOf(path);
    const text = read();
    const after = statOf(path);
    if (before?.isFile() && after && sameIdentity(identityOf(before), identityOf(after)) && settled(identityOf(after), this.now())) this.pending.push({ text, id: identityOf(after) });
    return text;
  }

  /**
   * The text's hash: known from its file's identity, else computed (and its file's identity
   * recorded). `toStore`: for the key of an entry about to be written, always computed: what a
   * record says is used to look up, never to file a result.
   */
  private hashOf(text: string, toStore = false): string {
    const known = this.known.find((k) => k.text === text && !(toStore && k.recorded));
    if (known) {
      if (known.recorded) this.counts.trusted++;
      return known.hash;
    }
    this.counts.hashed++;
    const hash = textHash(text);
    this.known.push({ text, hash, recorded: false });
    const k = this.pending.findIndex((p) => p.text === text);
    if (k >= 0) {
      const { id } = this.pending.splice(k, 1)[0]!;
      this.writeFile(identityPath(this.dir, id), Buffer.from(encodeIdentity(id, textFacts(text, hash)), "latin1"));
    }
    return hash;
  }

  get(text: string, opts: ReadInputOptions): InputResult | undefined {
    if (!this.usable) return undefined;
    const key = entryKey(text, opts, this.hashOf(text));
    const path = this.pathOf(key);
    let data: Buffer;
    try {
      // Nothing larger than the cache may hold is read (a file put there by something else).
      if (statSync(path).size > MAX_BYTES + 4096) {
        this.note(`cache entry ${path} ignored: larger than the cache keeps; parsing again and rewriting it`);
        return undefined;
      }
      data = readFileSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") this.note(`cannot read cache entry ${path}: ${(e as Error).message}; parsing instead`);
      return undefined;
    }
    try {
      const r = this.decode(data, key, text, opts.file);
      try {
        const now = new Date();
        utimesSync(path, now, now);
      } catch {
        // Marking it used only orders eviction.
      }
      return r;
    } catch (e) {
      const why = e instanceof BadEntry || e instanceof SyntaxError ? e.message : `unreadable (${(e as Error).message})`;
      this.note(`cache entry ${path} ignored: ${why}; parsing again and rewriting it`);
      return undefined;
    }
  }

  private decode(data: Buffer, key: string, text: string, file: string): InputResult {
    const magic = Buffer.byteLength(MAGIC);
    if (data.length < magic || data.toString("latin1", 0, magic) !== MAGIC) throw new BadEntry("not a netfate cache entry");
    const nl = data.indexOf(10, magic);
    if (nl < 0) throw new BadEntry("truncated");
    const h = JSON.parse(data.toString("utf8", magic, nl)) as Header;
    if (h.key !== key) throw new BadEntry("made for another input or another build");
    const body = data.subarray(nl + 1);
    if (body.length !== h.bytes) throw new BadEntry(`truncated (${body.length} of ${h.bytes} bytes)`);
    if (crc32(body) !== h.crc) throw new BadEntry("corrupt (checksum)");
    if (!Number.isInteger(h.json) || h.json < 0 || h.json > body.length) throw new BadEntry("bad header");
    return decodeResult(body, h.json, text, file);
  }

  put(text: string, opts: ReadInputOptions, result: InputResult): void {
    if (!this.usable) return;
    let body: Buffer | undefined;
    let json = 0;
    try {
      const enc = encodeResult(text, result);
      if (!enc) return;
      ({ body, json } = enc);
    } catch (e) {
      // A result this cannot store is parsed again next time; nothing is lost.
      this.note(`cannot store ${opts.file} in the cache: ${(e as Error).message}`);
      return;
    }
    if (body.length > MAX_BYTES) return;
    const key = entryKey(text, opts, this.hashOf(text, true));
    const header = Buffer.from(MAGIC + JSON.stringify({ key, json, bytes: body.length, crc: crc32(body) } satisfies Header) + "\n");
    const path = this.pathOf(key);
    if (this.writeFile(path, header, body)) this.evict(path);
  }

  /** Writes a file of the cache whole or not at all (a temporary file renamed into place); false when it cannot. */
  private writeFile(path: string, ...parts: Buffer[]): boolean {
    if (!this.usable) return false;
    const temp = join(this.dir, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
    try {
      mkdirSync(this.dir, { recursive: true });
      const fd = openSync(temp, "wx", 0o644);
      try {
        for (const p of parts) writeSync(fd, p);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, path);
      return true;
    } catch (e) {
      try {
        unlinkSync(temp);
      } catch {
        // Not created.
      }
      this.usable = false;
      this.note(`cannot write to the cache directory ${this.dir}: ${(e as Error).message}; going on without it`);
      return false;
    }
  }

  /** Removes the least recently used entries beyond the bounds (never `keep`), and stale temporary files. */
  private evict(keep: string): void {
    try {
      const now = Date.now();
      const entries: { path: string; size: number; used: number }[] = [];
      const identities: { path: string; used: number }[] = [];
      for (const name of readdirSync(this.dir)) {
        const path = join(this.dir, name);
        if (name.endsWith(SUFFIX)) {
          const st = statSync(path);
          entries.push({ path, size: st.size, used: st.mtimeMs });
        } else if (name.endsWith(IDENTITY_SUFFIX)) identities.push({ path, used: statSync(path).mtimeMs });
        else if (name.startsWith(".tmp-") && now - statSync(path).mtimeMs > STALE_TEMP_MS) unlinkSync(path);
      }
      entries.sort((a, b) => (a.path === keep ? -1 : b.path === keep ? 1 : b.used - a.used));
      let bytes = 0;
      entries.forEach((e, k) => {
        if (k > 0 && (k >= MAX_ENTRIES || bytes + e.size > MAX_BYTES)) unlinkSync(e.path);
        else bytes += e.size;
      });
      // Written when a file is read as usual: the oldest go first.
      identities.sort((a, b) => b.used - a.used).slice(MAX_IDENTITIES).forEach((i) => unlinkSync(i.path));
    } catch {
      // Another process may be cleaning up at the same time: the next write tries again.
    }
  }
}
