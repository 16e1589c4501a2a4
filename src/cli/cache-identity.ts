/**
 * Knowing a file's content hash without reading it all: a record, kept in the cache directory,
 * of a file's identity — device, inode, size, modification and change times to the
 * nanosecond — and the SHA-256 of its text when it had that identity (cli/cache.ts keys
 * entries by the hash). This is how git's index tells that a file is unchanged.
 *
 * Why an identity stands for a content: every write to a file, every truncation, rename onto
 * it, chmod, link or unlink, and every `touch -d` or `cp -p` that sets its times back, sets its
 * change time (ctime) to the clock's now, which no user can choose; a replaced file is another
 * inode. What the identity cannot tell is two versions written within one tick of the file
 * system's clock (a second on some file systems): so a record is made only of a file whose
 * times are at least SETTLED_NS in the past ("racy" in git's words). Any change after that
 * moves ctime past the recorded one. A file that changed while it was read (its identity
 * before and after differ) is not recorded, and a trusted read checks the identity again
 * after reading: a change meanwhile makes it read and hash the file as usual.
 *
 * stdin has no identity: it is always hashed.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import { crc32 } from "./cache-crc.js";

/** How long after its last change a file's identity is trusted: well beyond a file system clock's tick (1 s, 2 s on FAT). */
export const SETTLED_NS = 3_000_000_000n;

export const IDENTITY_SUFFIX = ".ident";
const MAGIC = "netfate-identity 1";

export interface FileIdentity {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** What is known of a file's text when it had an identity. */
export interface TextFacts {
  /** cli/cache.ts textHash of the text. */
  hash: string;
  /** Every byte below 0x80: decoding as Latin-1 gives the UTF-8 text. */
  ascii: boolean;
  /** Newline characters (the line limit, cli/bounded-read.ts). */
  newlines: number;
}

export function identityOf(st: BigIntStats): FileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** Whether the file last changed at least SETTLED_NS before `nowMs` (both of its times). */
export function settled(id: FileIdentity, nowMs: number): boolean {
  const now = BigInt(Math.floor(nowMs)) * 1_000_000n;
  return id.mtimeNs + SETTLED_NS <= now && id.ctimeNs + SETTLED_NS <= now;
}

/** The record's file: one per inode of one device. */
export function identityPath(dir: string, id: FileIdentity): string {
  return join(dir, `${id.dev}-${id.ino}${IDENTITY_SUFFIX}`);
}

/** The record: its fields a line each, then the CRC-32 of those lines (a damaged record is no record). */
export function encodeIdentity(id: FileIdentity, facts: TextFacts): string {
  const body = [MAGIC, id.dev, id.ino, id.size, id.mtimeNs, id.ctimeNs, facts.hash, facts.ascii ? 1 : 0, facts.newlines, ""].join("\n");
  return `${body}${crc32(Buffer.from(body, "latin1"))}\n`;
}

/** The facts a record keeps for identity `id`; undefined when it keeps none (another identity, unreadable, foreign). */
export function readIdentity(path: string, id: FileIdentity): TextFacts | undefined {
  let text: string;
  try {
    text = readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
  const f = text.split("\n");
  if (f.length !== 11 || f[0] !== MAGIC || f[10] !== "") return undefined;
  const body = f.slice(0, 9).join("\n") + "\n";
  if (f[9] !== String(crc32(Buffer.from(body, "latin1")))) return undefined;
  const num = (s: string): bigint | undefined => (/^[0-9]{1,20}$/.test(s) ? BigInt(s) : undefined);
  const stored = { dev: num(f[1]!), ino: num(f[2]!), size: num(f[3]!), mtimeNs: num(f[4]!), ctimeNs: num(f[5]!) };
  if (Object.values(stored).some((v) => v === undefined) || !sameIdentity(stored as FileIdentity, id)) return undefined;
  if (!/^(?:latin1|utf8):[0-9a-f]{64}$/.test(f[6]!) || (f[7] !== "0" && f[7] !== "1") || !/^[0-9]{1,12}$/.test(f[8]!)) return undefined;
  return { hash: f[6]!, ascii: f[7] === "1", newlines: Number(f[8]) };
}

/** The facts of `text` kept in a record (the hash computed by the caller). */
export function textFacts(text: string, hash: string): TextFacts {
  let newlines = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) newlines++;
  return { hash, ascii: !/[^\x00-\x7f]/.test(text), newlines };
}

export interface TrustedRead {
  text: string;
  facts: TextFacts;
}

/**
 * The text of regular file `path` when a record in `dir` knows its identity and its text is
 * within the limits (`limit` bytes, `maxNewlines` lines), read with one read and decoded as
 * the usual read decodes it (cli/bounded-read.ts: UTF-8); undefined otherwise (not a regular
 * file, no such record, changed while read, beyond a limit), and the caller reads it as usual,
 * which also says what is wrong. `duringRead` lets a test change the file at the worst moment.
 */
export function readTrusted(path: string, dir: string, limit: number, maxNewlines: number, duringRead?: () => void): TrustedRead | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile() || st.size > BigInt(limit)) return undefined;
    const id = identityOf(st);
    const facts = readIdentity(identityPath(dir, id), id);
    if (!facts || facts.newlines > maxNewlines) return undefined;
    const size = Number(st.size);
    // One byte more than the size: a file that grew since is seen to.
    const buf = Buffer.allocUnsafe(size + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
      if (got === buf.length) break;
    }
    duringRead?.();
    if (got !== size || !sameIdentity(identityOf(fstatSync(fd, { bigint: true })), id)) return undefined;
    return { text: facts.ascii ? buf.toString("latin1", 0, size) : buf.toString("utf8", 0, size), facts };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
