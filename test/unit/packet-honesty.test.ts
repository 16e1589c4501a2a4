/**
 * The packet readers refuse what they do not understand, at the column of the word at
 * fault, and read one packet typed three ways (text, JSON, kernel LOG line) as one PacketSpec.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseLogLine, parsePacketJson, parsePacketText } from "../../src/packet/parse.js";
import { parseTcpFlags } from "../../src/packet/tcp-flags.js";

const TEXT = "tcp 10.0.0.1:5 -> 10.0.0.2:80 in eth0";
const LOG = (tail: string, head = "IN=eth0 OUT= ") => `${head}SRC=10.0.0.1 DST=10.0.0.2 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP ${tail}`;
const json = (o: Record<string, unknown>) => JSON.stringify({ from: "eth0", src: "10.0.0.1", dst: "10.0.0.2", proto: "tcp", ...o });

/** The column `word` starts at in `text` (its last occurrence when `last`). */
const colOf = (text: string, word: string, last = false) => (last ? text.lastIndexOf(word) : text.indexOf(word)) + 1;

describe("the text form", () => {
  it("refuses a field given twice, at the second one", () => {
    const t = `${TEXT} in eth1`;
    expect(parsePacketText(t)).toEqual({ ok: false, error: expect.stringMatching(/in given twice.*column 31/), col: colOf(t, "in eth1") });
    const s = `${TEXT} established new`;
    expect(parsePacketText(s)).toMatchObject({ ok: false, error: expect.stringMatching(/new given twice/), col: colOf(s, "new") });
    for (const extra of ["local", "mark 1 mark 2", "flags S flags A", "ttl 1 ttl 2", "reply reply", "frag frag", "mac 00:11:22:33:44:55 mac 00:11:22:33:44:55"]) {
      expect(parsePacketText(`${TEXT} ${extra}`), extra).toMatchObject({ ok: false, error: expect.stringMatching(/given twice/) });
    }
    expect(parsePacketText("icmp 10.0.0.1 -> 10.0.0.2 in eth0 echo-request echo-reply")).toMatchObject({ ok: false, error: expect.stringMatching(/given twice/) });
  });
  it("refuses ICMP types and codes above 255", () => {
    const t = "icmp 10.0.0.1 -> 10.0.0.2 in eth0 300";
    expect(parsePacketText(t)).toMatchObject({ ok: false, error: "ICMP type 300 is not 0-255", col: colOf(t, "300") });
    expect(parsePacketText("icmp 10.0.0.1 -> 10.0.0.2 in eth0 type 3/256")).toMatchObject({ ok: false, error: "ICMP code 256 is not 0-255" });
    expect(parsePacketText("icmp 10.0.0.1 -> 10.0.0.2 in eth0 type 3/255")).toMatchObject({ ok: true, packet: { icmpType: 3, icmpCode: 255 } });
  });
  it("refuses interface names the kernel would not take (IFNAMSIZ-1 = 15 bytes, no / or :)", () => {
    expect(parsePacketText("tcp 10.0.0.1:5 -> 10.0.0.2:80 in 0123456789abcde")).toMatchObject({ ok: true, packet: { from: "0123456789abcde" } });
    const t = "tcp 10.0.0.1:5 -> 10.0.0.2:80 in 0123456789abcdef";
    expect(parsePacketText(t)).toMatchObject({ ok: false, error: expect.stringMatching(/16 bytes.*at most 15/), col: colOf(t, "0123") });
    expect(parsePacketText("tcp 10.0.0.1:5 -> 10.0.0.2:80 in eth0:1")).toMatchObject({ ok: false, error: expect.stringMatching(/contains ":"/) });
    expect(parsePacketText("tcp 10.0.0.1:5 -> 10.0.0.2:80 in local")).toMatchObject({ ok: false });
  });
  it("gives every error a column: the word at fault", () => {
    const cases: Array<[string, string]> = [
      ["icmp 10.0.0.1:5 -> 10.0.0.2 in eth0", "10.0.0.1:5"],
      ["icmp 10.0.0.1 -> 10.0.0.2:5 in eth0", "10.0.0.2:5"],
      ["udp 10.0.0.1:5 -> 10.0.0.2:53 in eth0 flags S", "flags"],
      ["udp 10.0.0.1:5 -> 10.0.0.2:53 in eth0 type 8", "type"],
      ["icmpv6 10.0.0.1 -> 10.0.0.2 in eth0", "icmpv6"],
      ["tcp -> 10.0.0.2:80 in eth0", "in"],
      ["tcp 10.0.0.1:5 -> 2001:db8::1 in eth0", "2001:db8::1"],
      ["tcp 10.0.0.1:5 -> 10.0.0.2:80 in eth0 mark 0x1ffffffff", "0x1ffffffff"],
      ["tcp 10.0.0.1:99999 -> 10.0.0.2:80 in eth0", "10.0.0.1:99999"],
      ["tcp 10.0.0.1:5 -> 10.0.0.2:80 in eth0 flags X", "X"],
      ["tcp 10.0.0.1:5 -> 10.0.0.2:80 in eth0 len 70000", "70000"],
      ["tcp 10.0.0.1:5 -> 10.0.0.2:80 in eth0 mac 00:11", "00:11"],
      ["mptcp 10.0.0.1:5 -> 10.0.0.2:80 in eth0", "mptcp"],
    ];
    for (const [t, word] of cases) expect(parsePacketText(t), t).toMatchObject({ ok: false, col: colOf(t, word, true) });
  });
  it("never fails without a column", () => {
    fc.assert(fc.property(fc.array(fc.constantFrom("tcp", "icmp", "udp", "10.0.0.1:5", "10.0.0.1", "->", "10.0.0.2:80", "::1", "in", "eth0", "local", "new", "established", "flags", "SA", "type", "8", "300", "mark", "1", "frag", "reply", "ttl", "mac"), { maxLength: 12 }), (ws) => {
      const r = parsePacketText(ws.join(" "));
      if (!r.ok) expect(r.col, `${ws.join(" ")}: ${r.error}`).toBeGreaterThanOrEqual(1);
    }), { numRuns: 500 });
  });
});

describe("TCP flags as users copy them", () => {
  it("reads names, nft's bars, tcpdump's dot, letters and none", () => {
    for (const [s, v] of [["SYN", 0x02], ["SYN,ACK", 0x12], ["syn|ack", 0x12], ["syn | ack", 0x12], ["S.", 0x12], ["SA", 0x12], ["F.", 0x11], [".", 0x10], ["none", 0], ["FIN,PSH,URG", 0x29], ["rst", 0x04]] as const) {
      expect(parseTcpFlags(s), s).toBe(v);
    }
    for (const s of ["", "SYNACK", "SYN,,ACK", "X", "SYN ACK", "ECE", "0x12"]) expect(parseTcpFlags(s), s).toBeUndefined();
  });
  it("in JSON and in the text form alike; anything else says what is accepted", () => {
    for (const f of ["SYN", "SYN,ACK", "syn|ack", "S.", "SA"]) {
      const j = parsePacketJson(json({ tcp_flags: f }));
      const t = parsePacketText(`${TEXT} flags ${f}`);
      expect(j.ok && t.ok && j.packet.tcpFlags === t.packet.tcpFlags, f).toBe(true);
    }
    const bad = json({ tcp_flags: "SYNACK" });
    expect(parsePacketJson(bad)).toMatchObject({ ok: false, error: expect.stringMatching(/tcp_flags.*SYN,ACK.*syn\|ack.*S\..*none/), col: colOf(bad, '"SYNACK"') });
    expect(parsePacketText(`${TEXT} flags SYNACK`)).toMatchObject({ ok: false, error: expect.stringMatching(/SYN,ACK/) });
  });
});

describe("kernel LOG lines are read field by field", () => {
  it("takes TCP flags from the flag fields only, not from the prefix or ACK=", () => {
    const r = parsePacketText(LOG("SPT=5 DPT=80 WINDOW=512 RES=0x00 ACK URGP=0", "SYN-FLOOD: IN=eth0 OUT= "));
    expect(r).toMatchObject({ ok: true, packet: { tcpFlags: 0x10 } });
    const seq = LOG("SPT=5 DPT=80 SEQ=1 ACK=2 WINDOW=512 RES=0x00 SYN URGP=0");
    expect(parsePacketText(seq)).toMatchObject({ ok: true, packet: { tcpFlags: 0x02 } });
  });
  it("reads a prefix glued to IN=, as --log-prefix without a trailing space prints it", () => {
    expect(parsePacketText(LOG("SPT=5 DPT=80 WINDOW=512 RES=0x00 SYN URGP=0", "Dec  5 00:00:00 node kernel: [ 12.345] DROPIN=eth0 OUT= "))).toMatchObject({ ok: true, packet: { from: "eth0", tcpFlags: 0x02 } });
  });
  it("reads the packet an ICMP error is about as no part of this packet", () => {
    const r = parsePacketText("IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=80 TOS=0x00 PREC=0xC0 TTL=64 ID=1 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.0.0.2 DST=10.0.0.1 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=2 PROTO=UDP SPT=53 DPT=5 LEN=32 ] ");
    expect(r).toMatchObject({ ok: true, packet: { proto: 1, icmpType: 3, icmpCode: 3, tos: 0xc0 } });
    expect(r.ok && r.packet.sport).toBeUndefined();
  });
  it("refuses a line without IN= (it is not a LOG line); an empty IN= is a local packet", () => {
    expect(parsePacketText("SRC=10.0.0.1 DST=10.0.0.2 PROTO=TCP SPT=1 DPT=80 SYN")).toMatchObject({ ok: false, error: expect.stringMatching(/not a kernel LOG line/), col: 1 });
    expect(parsePacketText(LOG("SPT=5 DPT=80 SYN", "IN= OUT=eth0 "))).toMatchObject({ ok: true, packet: { from: "local" } });
  });
  it("refuses out-of-range and malformed fields at their column", () => {
    const cases: Array<[string, string]> = [
      [LOG("SPT=99999 DPT=80 SYN"), "99999"],
      [LOG("SPT=5 DPT=-1 SYN"), "-1"],
      [LOG("SPT=5 DPT=80 SYN SYN"), "SYN"],
      [LOG("SPT=5 SPT=6 DPT=80 SYN"), "SPT=6"],
      [LOG("SPT=5 DPT=80 BOGUS"), "BOGUS"],
      [LOG("SPT=5 DPT=80 SYN", "IN=0123456789abcdef OUT= "), "0123456789abcdef"],
      ["IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=84 TTL=64 PROTO=ICMP TYPE=300 CODE=0", "300"],
      ["IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=84 TTL=300 PROTO=ICMP TYPE=8 CODE=0", "300"],
      ["IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=84 TTL=64 PROTO=GRE", "GRE"],
      ["IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=84 TTL=64 PROTO=TCP SPT=5 DPT=80 SYN MARK=banana", "banana"],
      ["IN=eth0 OUT= SRC=10.0.0.1 DST=2001:db8::2 PROTO=TCP SPT=5 DPT=80 SYN", "10.0.0.1"],
      ["IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 PROTO=TCP SPT=5 DPT=80 WINDOW=1 RES=0x00 INCOMPLETE [4 bytes]", "INCOMPLETE"],
    ];
    for (const [line, word] of cases) expect(parsePacketText(line), line).toMatchObject({ ok: false, col: colOf(line, word, true) });
  });
  it("keeps the pieces of the header it prints: MAC source, TOS and precedence, MARK, fragments", () => {
    const r = parseLogLine("IN=eth0 OUT= MAC=52:54:00:8e:1a:11:00:1a:a9:15:ff:4d:08:00 SRC=10.0.0.1 DST=10.0.0.2 LEN=52 TOS=0x10 PREC=0x20 TTL=64 ID=1 PROTO=UDP SPT=5 DPT=53 LEN=32 MARK=0x4000");
    expect(r).toMatchObject({ ok: true, packet: { srcMac: "00:1a:a9:15:ff:4d", tos: 0x30, mark: 0x4000, proto: 17, length: 52 } });
    const frag = parseLogLine("IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=1 FRAG:185 PROTO=TCP");
    expect(frag).toMatchObject({ ok: true, packet: { fragment: true, proto: 6 } });
    expect(frag.ok && frag.packet.tcpFlags).toBeUndefined();
  });
  it("leaves the ports of an SCTP packet unknown: the LOG target prints none for it", () => {
    const r = parseLogLine("IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=132");
    expect(r).toMatchObject({ ok: true, packet: { proto: 132 }, notes: expect.arrayContaining([expect.stringMatching(/ports are unknown/)]) });
    expect(r.ok && r.packet.dport).toBeUndefined();
  });
  it("reads IPv6 LOG lines: HOPLIMIT is the TTL, TC the traffic class", () => {
    const r = parseLogLine("IN=eth0 OUT= SRC=2001:db8::1 DST=2001:db8::2 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=12345 PROTO=TCP SPT=5 DPT=80 WINDOW=1 RES=0x00 SYN URGP=0");
    expect(r).toMatchObject({ ok: true, packet: { family: "ipv6", ttl: 64, tos: 0, tcpFlags: 0x02 } });
  });
  it("reads xtables-monitor PACKET lines; no IN= there is a local packet", () => {
    const r = parsePacketText("PACKET: 2 86adf54e OUT=vr SRC=10.98.0.1 DST=10.98.0.2 LEN=60 TOS=0x0 TTL=64 ID=2877 DF SPORT=40000 DPORT=80 SYN MARK=0x7");
    expect(r).toMatchObject({ ok: true, packet: { from: "local", mark: 7, tcpFlags: 0x02, sport: 40000 } });
    expect(parsePacketText("PACKET: 2 86adf54e OUT=vr SRC=10.98.0.1 DST=10.98.0.2 LEN=84 TOS=0x0 TTL=64 ID=2877 DF")).toMatchObject({ ok: false, error: expect.stringMatching(/protocol/) });
  });
  it("leaves the conntrack state unsaid: an ACK is traced both ways, as `flags A` is", () => {
    const r = parseLogLine(LOG("SPT=5 DPT=80 WINDOW=512 RES=0x00 ACK URGP=0"));
    expect(r.ok && r.packet.state).toBeUndefined();
    const t = parsePacketText(`${TEXT} flags A`);
    expect(t.ok && t.packet.state).toBeUndefined();
  });
});

describe("one packet, three ways", () => {
  const forms: Array<[string, string, string, string]> = [
    [
      "a mid-stream ACK",
      `${TEXT} flags A len 52 ttl 64 tos 0 mac 00:1a:a9:15:ff:4d`,
      json({ sport: 5, dport: 80, tcp_flags: "A", len: 52, ttl: 64, tos: 0, mac: "00:1A:A9:15:FF:4D" }),
      "SYN-FLOOD: IN=eth0 OUT= MAC=52:54:00:8e:1a:11:00:1a:a9:15:ff:4d:08:00 SRC=10.0.0.1 DST=10.0.0.2 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=5 DPT=80 WINDOW=512 RES=0x00 ACK URGP=0",
    ],
    [
      "a SYN with a mark",
      `${TEXT} flags SYN len 60 ttl 63 tos 0x10 mark 0x4000`,
      json({ sport: 5, dport: 80, tcp_flags: "SYN", len: 60, ttl: 63, tos: 16, mark: "0x4000" }),
      "IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=60 TOS=0x10 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=5 DPT=80 WINDOW=512 RES=0x00 SYN URGP=0 MARK=0x4000",
    ],
    [
      "a ping sent by the node",
      "icmp 10.0.0.1 -> 10.0.0.2 local echo-request len 84 ttl 64 tos 0",
      JSON.stringify({ from: "local", src: "10.0.0.1", dst: "10.0.0.2", proto: "icmp", icmp_type: 8, icmp_code: 0, len: 84, ttl: 64, tos: 0 }),
      "IN= OUT=eth0 SRC=10.0.0.1 DST=10.0.0.2 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=ICMP TYPE=8 CODE=0 ID=7 SEQ=1",
    ],
  ];
  for (const [name, text, js, log] of forms) {
    it(name, () => {
      const t = parsePacketText(text);
      const j = parsePacketText(js);
      const l = parsePacketText(log);
      expect(t.ok && j.ok && l.ok, JSON.stringify([t, j, l])).toBe(true);
      if (!t.ok || !j.ok || !l.ok) return;
      // The text name echo-request says no code; the LOG line and the JSON say 0.
      const tp = name.includes("ping") ? { ...t.packet, icmpCode: 0 } : t.packet;
      expect(j.packet).toEqual(tp);
      expect(l.packet).toEqual(tp);
    });
  }
});

describe("JSON packets: every field of its type", () => {
  it("refuses each field given the wrong type, at the value", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ mac: 5 }, /mac: found the number 5/],
      [{ mac: "00:11" }, /mac/],
      [{ fragment: "yes" }, /fragment: found the string "yes" \(expected true or false\)/],
      [{ reply: 1 }, /reply/],
      [{ family: "ipv9" }, /family.*"ipv4" or "ipv6"/],
      [{ family: "ipv6" }, /family ipv6 but dst/],
      [{ state: ["new"] }, /state: found a list/],
      [{ state: "closing" }, /state/],
      [{ sport: 1.5 }, /sport/],
      [{ dport: "http" }, /dport/],
      [{ dport: true }, /dport/],
      [{ mark: -1 }, /mark/],
      [{ ttl: 256 }, /ttl/],
      [{ tos: null }, /tos: found null/],
      [{ len: 70000 }, /len/],
      [{ icmp_type: 999 }, /icmp_type/],
      [{ icmp_code: 256 }, /icmp_code/],
      [{ tcp_flags: 2.5 }, /tcp_flags/],
      [{ proto: 300 }, /proto/],
      [{ proto: ["tcp"] }, /proto/],
      [{ from: 7 }, /from/],
      [{ from: "0123456789abcdef" }, /at most 15/],
      [{ src: 10 }, /src/],
      [{ src: "10.0.0.1:5" }, /give the address alone and the port as sport/],
      [{ dst: "10.0.0.2:80" }, /port as dport/],
      [{ dst: "999.0.0.1" }, /dst/],
    ];
    for (const [extra, message] of cases) {
      const text = json(extra);
      const r = parsePacketJson(text);
      expect(r, text).toMatchObject({ ok: false, error: expect.stringMatching(message) });
      const value = JSON.stringify(Object.values(extra)[0]);
      if (!r.ok) expect(r.col, text).toBe(text.lastIndexOf(`:${value}`) + 2);
    }
  });
  it("refuses a key given twice, and an ICMP packet's type and code that disagree", () => {
    expect(parsePacketJson('{"from":"eth0","from":"eth1","src":"10.0.0.1","dst":"10.0.0.2","proto":"tcp"}')).toMatchObject({ ok: false, error: '"from" given twice', col: 16 });
    expect(parsePacketJson(JSON.stringify({ from: "eth0", src: "10.0.0.1", dst: "10.0.0.2", proto: "icmp", icmp_type: "port-unreachable", icmp_code: 1 }))).toMatchObject({ ok: false, error: expect.stringMatching(/code 3 but icmp_code says 1/) });
  });
  it("reads the fields of objects given by a library caller", () => {
    expect(parsePacketJson({ from: "eth0", src: "10.0.0.1", dst: "10.0.0.2", proto: "tcp", sport: 5, dport: 80, fragment: false })).toMatchObject({ ok: true, packet: { sport: 5, dport: 80 } });
    expect(parsePacketJson({ from: "eth0", src: "10.0.0.1", dst: "10.0.0.2", proto: "tcp", fragment: "yes" })).toMatchObject({ ok: false, error: expect.stringMatching(/fragment/) });
  });
});
