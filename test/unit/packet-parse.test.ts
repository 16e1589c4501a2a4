import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parsePacketText, parsePacketJson, parseLogLine } from "../../src/packet/parse.js";

describe("packet text", () => {
  it("reads the common form", () => {
    const r = parsePacketText("tcp 10.244.1.5:43512 -> 10.96.0.10:80 in eth0");
    expect(r).toMatchObject({ ok: true, packet: { family: "ipv4", from: "eth0", src: "10.244.1.5", sport: 43512, dst: "10.96.0.10", dport: 80, proto: 6, tcpFlags: 2 } });
    expect(r.ok && r.notes[0]).toMatch(/SYN/);
  });
  it("reads marks, states, flags, icmp types and local packets", () => {
    expect(parsePacketText("udp 10.0.0.1:53000 -> 10.0.0.2:53 in cni0 mark 0x4000")).toMatchObject({ ok: true, packet: { mark: 0x4000, proto: 17 } });
    expect(parsePacketText("icmp 10.0.0.1 -> 10.0.0.2 echo-request in tunl0")).toMatchObject({ ok: true, packet: { icmpType: 8, from: "tunl0" } });
    expect(parsePacketText("tcp -> 192.168.0.11:32110 local")).toMatchObject({ ok: true, packet: { from: "local", dport: 32110 } });
    expect(parsePacketText("tcp 1.2.3.4:1 -> 5.6.7.8:2 in eth0 established flags A")).toMatchObject({ ok: true, packet: { state: "established", tcpFlags: 0x10 } });
    expect(parsePacketText("tcp [2001:db8::1]:5 -> [2001:db8::2]:80 in eth0")).toMatchObject({ ok: true, packet: { family: "ipv6", src: "2001:db8::1" } });
  });
  it("refuses impossible packets with a reason and a column", () => {
    expect(parsePacketText("icmp 10.0.0.1:5 -> 10.0.0.2 in eth0")).toMatchObject({ ok: false, error: "protocol 1 has no ports" });
    expect(parsePacketText("tcp 10.0.0.1:5 -> 2001:db8::1 in eth0")).toMatchObject({ ok: false });
    expect(parsePacketText("tcp 10.0.0.1:5 -> 10.0.0.2:80")).toMatchObject({ ok: false, error: expect.stringMatching(/in IFACE/) });
    expect(parsePacketText("tcp 10.0.0.1:5 => 10.0.0.2:80 in eth0")).toMatchObject({ ok: false, col: 16 });
    expect(parsePacketText("tcp 10.0.0.1:5 -> 10.0.0.2:80 in eth0 bogus")).toMatchObject({ ok: false, col: 39 });
  });
  it("never throws on random text", () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => {
      const r = parsePacketText(s);
      expect(typeof r.ok).toBe("boolean");
    }), { numRuns: 500 });
  });
});

describe("kernel log and trace lines", () => {
  it("reads a LOG line from seed 004", () => {
    const r = parseLogLine("IN=eth0 OUT= MAC=52:54:00:8e:1a:11:00:1a:a9:15:ff:4d:08:00 SRC=115.236.50.21 DST=192.168.0.11 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=18446 DF PROTO=TCP SPT=60079 DPT=32110 WINDOW=29200 RES=0x00 SYN URGP=0");
    expect(r).toMatchObject({ ok: true, packet: { from: "eth0", src: "115.236.50.21", dst: "192.168.0.11", sport: 60079, dport: 32110, proto: 6, tcpFlags: 2, ttl: 51 } });
  });
  it("empty IN= is a local packet; MARK= is kept", () => {
    const r = parseLogLine("IN= OUT=docker0 SRC=192.168.0.11 DST=172.17.0.2 LEN=60 TTL=64 PROTO=TCP SPT=40000 DPT=80 SYN MARK=0x4000");
    expect(r).toMatchObject({ ok: true, packet: { from: "local", mark: 0x4000 } });
  });
  it("reads an xtables-monitor PACKET line", () => {
    const r = parsePacketText("PACKET: 2 c8bd42d8 IN=va MACSRC=7a:1f:c4:ca:31:a6 MACDST=56:17:d6:82:2e:cd MACPROTO=0800 SRC=10.99.0.2 DST=10.99.0.1 LEN=60 TOS=0x0 TTL=64 ID=47284 DF SPORT=38866 DPORT=8080 SYN");
    expect(r).toMatchObject({ ok: true, packet: { from: "va", sport: 38866, dport: 8080, proto: 6 } });
  });
});

describe("packet JSON", () => {
  it("reads the documented shape", () => {
    const r = parsePacketJson('{"from":"eth0","src":"10.0.0.1","dst":"10.0.0.2","proto":"tcp","sport":1,"dport":2,"tcp_flags":"S","mark":"0x0","state":"new"}');
    expect(r).toMatchObject({ ok: true, packet: { sport: 1, dport: 2, tcpFlags: 2, mark: 0 } });
  });
  it("names unknown fields", () => {
    expect(parsePacketJson('{"from":"eth0","dst":"10.0.0.2","proto":"tcp","dprot":2}')).toMatchObject({ ok: false, error: expect.stringMatching(/dprot/) });
  });
});
