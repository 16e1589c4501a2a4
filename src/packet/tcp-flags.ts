/**
 * TCP flags as users copy them: names as the kernel's LOG lines and iptables print them
 * (`SYN`, `SYN,ACK`), nft's (`syn|ack`), letters (`SA`), tcpdump's (`S.`, where `.` is ACK),
 * or `none`. Bits as in the TCP header: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20.
 */

export const TCP_FLAG_BITS: Readonly<Record<string, number>> = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20 };

const LETTERS: Readonly<Record<string, number>> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, ".": 0x10, U: 0x20 };

export const TCP_FLAGS_EXPECTED = "flag names such as SYN,ACK or syn|ack, letters among F S R P A U such as SA, tcpdump's S. (. is ACK), or none";

/** The flag bits `text` spells, or undefined when it is none of the accepted spellings. */
export function parseTcpFlags(text: string): number | undefined {
  const t = text.trim();
  if (t.toLowerCase() === "none") return 0;
  if (t === "") return undefined;
  let v = 0;
  for (const part of t.split(/\s*[,|]\s*/)) {
    const named = TCP_FLAG_BITS[part.toUpperCase()];
    if (named !== undefined) {
      v |= named;
      continue;
    }
    if (part === "") return undefined;
    for (const ch of part.toUpperCase()) {
      const b = LETTERS[ch];
      if (b === undefined) return undefined;
      v |= b;
    }
  }
  return v;
}
