/** The checksum of the cache's files (cli/cache.ts entries, cli/cache-identity.ts records). */
import { createRequire } from "node:module";

// Loaded when a cache is used, not by every command that could take one (start-up).
const require = createRequire(import.meta.url);
let zlib: typeof import("node:zlib") | undefined;

export function crc32(data: Uint8Array): number {
  zlib ??= require("node:zlib") as typeof import("node:zlib");
  // zlib.crc32 came with Node 20.15; earlier 20s (which package.json admits) compute it here.
  return typeof zlib.crc32 === "function" ? zlib.crc32(data) : crc32Here(data);
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, reflected, the one zlib computes), a table of the 256 byte values. */
export function crc32Here(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
