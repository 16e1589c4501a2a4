/**
 * Each extension's kernel semantics, one table of cases per extension: a rule, a packet, and
 * whether the rule matches (or what the target does).
 */
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { buildNode } from "../../src/netfilter/model.js";
import { ipsetView, parseIpsets } from "../../src/ipset/index.js";
import type { PacketSpec } from "../../src/model/packet.js";
import { simpleNode } from "../support/simple-node.js";
import { ruleDrops } from "../support/rule-verdict.js";

const node = simpleNode({ addrs: { eth0: ["192.168.0.11/24"], cni0: ["10.244.0.1/24"] }, routes: [{ dst: "default", dev: "eth0", via: "192.168.0.1" }] });
const sets = ipsetView(parseIpsets("create allow hash:net family inet hashsize 1024 maxelem 65536\nadd allow 10.0.0.0/8\nadd allow 10.1.0.0/16 nomatch\n").value);

const base: PacketSpec = { family: "ipv4", from: "eth0", src: "10.2.3.4", dst: "192.168.0.11", proto: 6, sport: 40000, dport: 80, tcpFlags: 2, mark: 0 };

/** Whether the single INPUT rule `spec -j DROP` drops the packet (policy ACCEPT otherwise). */
function drops(spec: string, p: Partial<PacketSpec> = {}): boolean | "indeterminate" {
  return ruleDrops({ spec, packet: { ...base, ...p }, node, ipsets: sets });
}

const CASES: Record<string, Array<[string, Partial<PacketSpec>, boolean | "indeterminate"]>> = {
  tcp: [
    ["-p tcp --dport 80", {}, true], ["-p tcp --dport 81", {}, false], ["-p tcp ! --dport 80", {}, false],
    ["-p tcp --sport 1024:65535", {}, true], ["-p tcp --syn", {}, true], ["-p tcp --syn", { tcpFlags: 0x12, state: "established" }, false],
    ["-p tcp --tcp-flags SYN,ACK ACK", { tcpFlags: 0x10, state: "new" }, true], ["-p tcp --dport 80", { fragment: true }, false],
  ],
  udp: [["-p udp --dport 53", { proto: 17, dport: 53, tcpFlags: undefined }, true], ["-p udp --dport 53", {}, false]],
  multiport: [["-p tcp -m multiport --dports 22,80,443", {}, true], ["-p tcp -m multiport --dports 8000:9000", {}, false], ["-p tcp -m multiport --ports 40000", {}, true], ["-p tcp -m multiport ! --dports 80", {}, false]],
  mark: [["-m mark --mark 0x4000/0x4000", { mark: 0x4001 }, true], ["-m mark --mark 0x4000/0x4000", {}, false], ["-m mark ! --mark 0x0", {}, false]],
  connmark: [["-m connmark --mark 0x0", {}, true], ["-m connmark --mark 0x1", {}, false]],
  conntrack: [
    ["-m conntrack --ctstate NEW", {}, true], ["-m conntrack --ctstate ESTABLISHED", {}, false],
    ["-m conntrack --ctstate RELATED,ESTABLISHED", { state: "established", tcpFlags: 0x10 }, true],
    ["-m conntrack --ctorigdst 192.168.0.0/24 --ctorigdstport 80", {}, true], ["-m conntrack --ctdir REPLY", {}, false],
    ["-m conntrack --ctexpire 10:20", {}, "indeterminate"],
  ],
  state: [["-m state --state NEW", {}, true], ["-m state ! --state NEW", {}, false], ["-m state --state INVALID", { state: "invalid" }, true]],
  addrtype: [["-m addrtype --dst-type LOCAL", {}, true], ["-m addrtype --dst-type LOCAL", { dst: "8.8.8.8" }, false], ["-m addrtype ! --src-type LOCAL", {}, true]],
  set: [
    ["-m set --match-set allow src", {}, true], ["-m set --match-set allow src", { src: "10.1.2.3" }, false],
    ["-m set --match-set allow src --return-nomatch", { src: "10.1.2.3" }, true], ["-m set ! --match-set allow src", {}, false],
    ["-m set --match-set nosuchset src", {}, "indeterminate"],
  ],
  icmp: [
    ["-p icmp --icmp-type echo-request", { proto: 1, sport: undefined, dport: undefined, tcpFlags: undefined, icmpType: 8 }, true],
    ["-p icmp --icmp-type 3/4", { proto: 1, sport: undefined, dport: undefined, tcpFlags: undefined, icmpType: 3, icmpCode: 3, state: "related" }, false],
    ["-p icmp --icmp-type any", { proto: 1, sport: undefined, dport: undefined, tcpFlags: undefined, icmpType: 0, state: "established" }, true],
  ],
  iprange: [["-m iprange --src-range 10.2.0.0-10.2.255.255", {}, true], ["-m iprange ! --src-range 10.2.0.0-10.2.255.255", {}, false]],
  length: [["-m length --length 0:100", { length: 60 }, true], ["-m length --length 0:100", { length: 1500 }, false], ["-m length --length 0:100", {}, "indeterminate"]],
  comment: [["-m comment --comment x", {}, true]],
  // A source routed back out another interface fails the strict check, not the loose one.
  rpfilter: [["-m rpfilter --invert", { src: "10.244.0.50" }, true], ["-m rpfilter --invert", {}, false], ["-m rpfilter --loose --invert", { src: "10.244.0.50" }, false]],
  // quota is known now (quiet-node.test.ts): cpu stands for a match netfate does not know.
  unknown: [["-m cpu --cpu 0", {}, "indeterminate"]],
};

describe("match semantics", () => {
  for (const [ext, cases] of Object.entries(CASES)) {
    it(ext, () => {
      for (const [spec, p, want] of cases) expect(drops(spec, p), `${spec} ${JSON.stringify(p)}`).toBe(want);
    });
  }
});

describe("target semantics", () => {
  const run = (rules: string, p: Partial<PacketSpec> = {}) =>
    buildNode({ rulesets: [parseRules(rules).value], node }).evaluate({ ...base, ...p }).outcomes;
  it("MARK forms are xsets", () => {
    const o = run("*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j MARK --or-mark 0x4000\n-A PREROUTING -j MARK --and-mark 0xff00\n-A PREROUTING -j MARK --xor-mark 0x1\nCOMMIT\n", { mark: 0x12 });
    // ((0x12 | 0x4000) & 0xff00) ^ 0x1
    expect(o[0]!.final.mark).toBe("0x4001");
  });
  it("REJECT is a fate of its own, with its ICMP type", () => {
    const o = run("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -j REJECT --reject-with tcp-reset\nCOMMIT\n");
    expect(o[0]!.fate).toEqual({ kind: "rejected", table: "filter", chain: "INPUT", rule: 1, hook: "INPUT", with: "tcp-reset" });
  });
  it("LOG writes the kernel's line and lets the packet go on", () => {
    const o = run('*filter\n:INPUT DROP [0:0]\n-A INPUT -j LOG --log-prefix "in: "\n-A INPUT -j ACCEPT\nCOMMIT\n');
    expect(o[0]!.fate.kind).toBe("delivered");
    expect(o[0]!.steps[0]!.log).toBe("in: IN=eth0 OUT= SRC=10.2.3.4 DST=192.168.0.11 PROTO=TCP SPT=40000 DPT=80 SYN");
  });
  it("DNAT and SNAT rewrite once; MASQUERADE takes the output device's address", () => {
    const o = run("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j DNAT --to-destination 10.244.0.9:8080\n-A POSTROUTING -o cni0 -j MASQUERADE\nCOMMIT\n");
    expect(o[0]!.final).toMatchObject({ src: "10.244.0.1", dst: "10.244.0.9", dport: 8080 });
    expect(o[0]!.fate).toMatchObject({ kind: "forwarded", iface: "cni0" });
  });
  it("an unknown target explores both: it continued, or it decided", () => {
    const o = run("*filter\n:INPUT DROP [0:0]\n-A INPUT -j FROBNICATE --zap 1\n-A INPUT -j ACCEPT\nCOMMIT\n");
    expect(o.map((x) => x.fate.kind).sort()).toEqual(["delivered", "indeterminate"]);
    for (const x of o) expect(x.assumptions[0]).toMatch(/-j FROBNICATE/);
  });
});

describe("target semantics: conntrack, NAT variants, queueing and packet edits", () => {
  const one = (rules: string, p: Partial<PacketSpec> = {}) => {
    const r = parseRules(rules);
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const outs = buildNode({ rulesets: [r.value], node }).evaluate({ ...base, ...p }).outcomes;
    expect(outs).toHaveLength(1);
    return outs[0]!;
  };
  const mangle = (rules: string) => `*mangle\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n${rules}COMMIT\n`;
  const untrackedDropped = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate UNTRACKED -j DROP\nCOMMIT\n";

  it("CONNMARK sets the connection's mark and copies the packet mark through masks", () => {
    expect(one(mangle("-A PREROUTING -j CONNMARK --set-mark 0x5\n")).final.ctmark).toBe("0x5");
    const saved = one(mangle("-A PREROUTING -j MARK --set-mark 0x31\n-A PREROUTING -j CONNMARK --save-mark --mask 0xf0\n"));
    expect(saved.final).toMatchObject({ mark: "0x31", ctmark: "0x30" });
    const restored = one(mangle("-A PREROUTING -j CONNMARK --set-mark 0x7\n-A PREROUTING -j CONNMARK --restore-mark --mask 0x3\n"), { mark: 0x100 });
    expect(restored.final.mark).toBe("0x103");
  });
  it("NOTRACK and CT --notrack leave the packet untracked (and out of the nat table)", () => {
    for (const t of ["NOTRACK", "CT --notrack"]) {
      const o = one(`*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j ${t}\nCOMMIT\n` + untrackedDropped);
      expect(o.final.ctstate).toBe("UNTRACKED");
      expect(o.fate).toMatchObject({ kind: "dropped", chain: "INPUT", rule: 1 });
    }
  });
  it("REDIRECT sends to the input device's first address; NETMAP maps the prefix, keeping the host part", () => {
    const r = one("*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j REDIRECT --to-ports 8080\nCOMMIT\n", { dst: "8.8.8.8" });
    expect(r.fate.kind).toBe("delivered");
    expect(r.final).toMatchObject({ dst: "192.168.0.11", dport: 8080 });
    const n = one("*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 192.168.0.0/24 -j NETMAP --to 10.244.0.0/24\nCOMMIT\n");
    expect(n.final).toMatchObject({ dst: "10.244.0.11", dport: 80 });
    expect(n.fate).toMatchObject({ kind: "forwarded", iface: "cni0" });
  });
  it("NFQUEUE hands the packet to userspace: queued is its fate", () => {
    expect(one("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j NFQUEUE --queue-num 3\nCOMMIT\n").fate).toMatchObject({ kind: "queued", chain: "INPUT", rule: 1 });
  });
  it("NFLOG logs and continues; the packet editors continue without assumptions", () => {
    const l = one("*filter\n:INPUT DROP [0:0]\n-A INPUT -j NFLOG --nflog-group 2 --nflog-prefix x\n-A INPUT -j ACCEPT\nCOMMIT\n");
    expect(l.fate.kind).toBe("delivered");
    expect(l.steps[0]!.log).toMatch(/^x/);
    for (const t of ["TTL --ttl-set 5", "TOS --set-tos 0x10", "DSCP --set-dscp 10", "-p tcp -j ECN --ecn-tcp-remove", "SECMARK --selctx system_u:object_r:http_packet_t:s0",
      "CONNSECMARK --save", "-p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400", "-p tcp -j TCPOPTSTRIP --strip-options timestamp"]) {
      const rule = t.startsWith("-p") ? t : `-j ${t}`;
      const o = one(mangle(`-A PREROUTING ${rule}\n`));
      expect(o.fate.kind, t).toBe("delivered");
      expect(o.assumptions, t).toEqual([]);
      expect(o.steps[0], t).toMatchObject({ matched: true, verdict: "CONTINUE" });
    }
  });
  it("TPROXY needs a listening socket netfate cannot see, HMARK's jhash is not modelled: indeterminate, never a guess", () => {
    for (const t of ["-p tcp -j TPROXY --on-port 8080 --tproxy-mark 0x1/0x1", "-j HMARK --hmark-tuple src,dst --hmark-mod 4 --hmark-rnd 0x1"]) {
      expect(one(mangle(`-A PREROUTING ${t}\n`)).fate.kind, t).toBe("indeterminate");
    }
  });
});
