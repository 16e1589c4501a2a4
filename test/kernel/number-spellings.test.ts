/**
 * How iptables 1.8.9 reads numbers and addresses written other than as iptables-save writes
 * them, asked of the real tool in a network namespace, beside what netfate reads from the same
 * text. A hand-written restore file (`/etc/iptables/rules.v4`) may say `--dport 010` or
 * `-d 010.0.0.1`; the kernel then holds port 8 and 8.0.0.1 (libxtables reads base 0), and a
 * tool that read them as decimal would answer confidently about rules the node does not have.
 *
 * Each base rule (one per numeric option, from the reference outputs) is respelled: every
 * number in an option's value once with a leading zero (octal to base 0; `08` is no number)
 * and once in hex. Then the address grammars, which differ by option: `-s`/`-d` and iprange
 * complete `10.1` to 10.1.0.0, the option parser's host types (conntrack, recent, TPROXY,
 * NETMAP) read it as inet_aton does, 10.0.0.1; NAT ranges read addresses strictly; udp ports
 * and TPROXY's port are decimal where tcp's are base 0. Both sides must agree: the same rule
 * saved back, or both refusing. Then ipset elements (numbers base 0 throughout, IPv4 addresses
 * as inet_aton reads them but without hex; compared by the element they stand for) and nft's own
 * rules (`010` octal, `09` decimal, prefix lengths base 0, addresses as inet_aton reads four
 * dotted groups, ranges in order).
 *
 * Not covered: extensions netfate keeps as written (ah, esp, frag, rt, cpu, tcpmss print back
 * their text unchanged) and statistic's `--probability`, which iptables reads with strtod (hex
 * fractions), and an IPv6 address with a zone (`fe80::1%lo`), which the tool resolves as a host
 * name against the node's interfaces: netfate refuses those spellings.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseRules } from "../../src/parse.js";
import { saveText } from "../../src/print/save.js";
import { parseIpsets } from "../../src/ipset/parse.js";
import { parseNftText } from "../../src/nft/text/index.js";
import { printNftRuleset } from "../../src/nft/print/index.js";
import { parseElement, setHeader } from "../../src/ipset/element.js";
import { inNamespace, kernelSkipReason } from "./harness.js";

const why = kernelSkipReason();
const NS = `nfspell${process.pid}`;

type Case = [family: 4 | 6, table: string, line: string];

/** One rule per option with a number in its value (iptables-save's own spelling). */
const BASES: Case[] = [
  [4,"filter","-A INPUT -p tcp -m tcp --dport 12 -j BIG"],
  [4,"filter","-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT"],
  [4,"filter","-A INPUT -s 172.16.0.0/12 -j DROP"],
  [4,"filter","-A OUTPUT -d 10.99.0.2/32 -p tcp -j RETURN"],
  [4,"filter","-A INPUT -m conntrack --ctstate DNAT --ctorigdst 10.96.0.10 -j ACCEPT"],
  [4,"filter","-A INPUT -m conntrack --ctorigsrc 10.0.0.0/8 ! --ctorigdst 192.168.0.0/16 -j ACCEPT"],
  [4,"filter","-A INPUT -m conntrack --ctreplsrc 1.1.1.1 --ctrepldst 2.2.2.2/31 -j ACCEPT"],
  [4,"filter","-A INPUT -m conntrack --ctproto 6 --ctorigdstport 80 -j ACCEPT"],
  [4,"filter","-A INPUT -m conntrack --ctorigsrcport 1000:2000 --ctreplsrcport 3000 -j ACCEPT"],
  [4,"filter","-A INPUT -m conntrack --ctexpire 10:100 -j ACCEPT"],
  [4,"filter","-A INPUT -m mark --mark 0x1 -j ACCEPT"],
  [4,"filter","-A INPUT -m statistic --mode nth --every 3 --packet 0 -j ACCEPT"],
  [4,"filter","-A INPUT -m recent --set --name ssh --mask 255.255.255.255 --rsource -j ACCEPT"],
  [4,"filter","-A INPUT -m recent --update --seconds 60 --reap --name ssh2 --mask 255.255.255.0 --rsource -j DROP"],
  [4,"filter","-A INPUT -m recent --rcheck --seconds 60 --hitcount 4 --name ssh --mask 255.255.255.255 --rsource -j DROP"],
  [4,"filter","-A INPUT -m limit --limit 5/min -j ACCEPT"],
  [4,"filter","-A INPUT -m limit --limit 10/sec --limit-burst 20 -j ACCEPT"],
  [4,"filter","-A INPUT -m hashlimit --hashlimit-upto 1kb/s --hashlimit-name bytes -j ACCEPT"],
  [4,"filter","-A INPUT -m hashlimit --hashlimit-upto 50/sec --hashlimit-burst 100 --hashlimit-mode srcip --hashlimit-name http -j ACCEPT"],
  [4,"filter","-A INPUT -m hashlimit --hashlimit-above 10/min --hashlimit-burst 5 --hashlimit-mode srcip,dstport --hashlimit-name h2 --hashlimit-htable-expire 30000 --hashlimit-srcmask 24 -j DROP"],
  [4,"filter","-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.100 -j ACCEPT"],
  [4,"filter","-A INPUT -m iprange ! --dst-range 192.168.0.1-192.168.0.254 -j ACCEPT"],
  [4,"filter","-A INPUT -m length --length 0:64 -j ACCEPT"],
  [4,"filter","-A INPUT -m tos --tos 0x10/0xff -j ACCEPT"],
  [4,"filter","-A INPUT -m dscp --dscp 0x2e -j ACCEPT"],
  [4,"filter","-A INPUT -m ttl --ttl-eq 64 -j ACCEPT"],
  [4,"filter","-A INPUT -m ttl --ttl-lt 5 -j DROP"],
  [4,"filter","-A INPUT -m devgroup --src-group 0x1 -j ACCEPT"],
  [4,"filter","-A INPUT -m string --hex-string \"|0001616263ff|\" --algo bm -j DROP"],
  [4,"filter","-A INPUT -m u32 ! --u32 \"0x0&0xffff=0x100:0xffff\" -j ACCEPT"],
  [4,"filter","-A INPUT -m connlimit --connlimit-above 10 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with icmp-port-unreachable"],
  [4,"filter","-A INPUT -m connlimit --connlimit-upto 5 --connlimit-mask 32 --connlimit-saddr -j ACCEPT"],
  [4,"filter","-A INPUT -m connbytes --connbytes 10000 --connbytes-mode bytes --connbytes-dir both -j ACCEPT"],
  [4,"filter","-A INPUT -m quota --quota 1000000 -j ACCEPT"],
  [4,"filter","-A INPUT -m realm --realm 0x10/0xff -j ACCEPT"],
  [4,"filter","-A FORWARD -m devgroup --src-group 0x1 --dst-group 0x2 -j ACCEPT"],
  [4,"filter","-A INPUT -p tcp -m tcp --dport 23 -j LOG --log-prefix x --log-level 7"],
  [4,"filter","-A INPUT -p tcp -m tcp --dport 32 -j NFLOG --nflog-group 2 --nflog-size 256"],
  [4,"filter","-A INPUT -p tcp -m tcp --dport 31 -j NFLOG --nflog-prefix \"nflog pfx\" --nflog-group 5 --nflog-threshold 10"],
  [4,"mangle","-A PREROUTING -j MARK --set-xmark 0x10/0xf0"],
  [4,"filter","-A INPUT -p tcp -m tcp --sport 0 -j DROP"],
  [4,"filter","-A INPUT -p tcp -m tcp --tcp-option 2 -j ACCEPT"],
  [4,"filter","-A INPUT -p tcp -m multiport ! --dports 22,80 -j DROP"],
  [4,"filter","-A INPUT -p udp -m multiport --sports 53,5353 -j ACCEPT"],
  [4,"filter","-A INPUT -p tcp -m multiport --ports 25,110 -j ACCEPT"],
  [6,"filter","-A INPUT -p ipv6-icmp -j V6IN"],
  [6,"filter","-A INPUT -s fd00:99::/64 -j ACCEPT"],
  [6,"filter","-A INPUT -d ::1/128 -j ACCEPT"],
  [6,"filter","-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"],
  [6,"filter","-A INPUT -p udp -m multiport --dports 546,547 -j ACCEPT"],
  [6,"filter","-A INPUT -p tcp -m tcp --dport 2 -j REJECT --reject-with icmp6-no-route"],
  [6,"filter","-A INPUT -m hl --hl-eq 255 -j ACCEPT"],
  [6,"filter","-A V6IN -p ipv6-icmp -m icmp6 --icmpv6-type 2 -j ACCEPT"],
  [6,"filter","-A INPUT -m ipv6header --header hop-by-hop,ipv6-frag --soft -j DROP"],
  [6,"filter","-A INPUT -p mobility-header -m mh --mh-type 5 -j DROP"],
  [6,"mangle","-A PREROUTING -p tcp -m tcp --dport 80 -j TPROXY --on-port 3129 --on-ip ::1 --tproxy-mark 0x1/0x1"],
  [6,"mangle","-A PREROUTING -j HL --hl-set 64"],
  [6,"mangle","-A POSTROUTING -j MARK --set-xmark 0x4000/0x4000"],
  [6,"mangle","-A POSTROUTING -p tcp -j DSCP --set-dscp 0x08"],
  [6,"nat","-A PREROUTING -p tcp -m tcp --dport 81 -j DNAT --to-destination 2001:db8::11"],
  [6,"nat","-A PREROUTING -p tcp -m tcp --dport 83 -j REDIRECT --to-ports 8083"],
  [6,"nat","-A POSTROUTING -s fd01::/16 -j SNAT --to-source 2001:db8::99"],
  [4,"mangle","-A PREROUTING -p udp -m udp --dport 53 -j TPROXY --on-port 5300 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0"],
  [4,"mangle","-A PREROUTING -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff"],
  [4,"mangle","-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400"],
  [4,"mangle","-A POSTROUTING -p tcp -m tcp --dport 22 -j DSCP --set-dscp 0x10"],
  [4,"mangle","-A POSTROUTING -p tcp -m tcp --dport 24 -j TOS --set-tos 0x10/0xff"],
  [4,"mangle","-A POSTROUTING -p tcp -m tcp --dport 27 -j TTL --ttl-set 64"],
  [4,"mangle","-A POSTROUTING -p tcp -m tcp --dport 28 -j TTL --ttl-inc 1"],
  [4,"mangle","-A POSTROUTING -p tcp -m tcp --dport 31 -j TCPOPTSTRIP --strip-options 4,8"],
  [4,"nat","-A PREROUTING -p tcp -m tcp --dport 22 -j REDIRECT --to-ports 2222"],
  [4,"nat","-A PREROUTING -p udp -m udp --dport 53 -j DNAT --to-destination :5353"],
  [4,"nat","-A POSTROUTING -s 10.5.0.0/16 -j SNAT --to-source 203.0.113.1"],
  [4,"raw","-A OUTPUT -j CT --zone 5"],
  [4,"raw","-A PREROUTING -i eth2 -j CT --zone-orig 2"],
  [4,"raw","-A PREROUTING -i eth3 -j CT --zone-reply 3"],
];

/** Address and protocol spellings, as written. */
const LITERALS: Case[] = [
  [4, "filter", "-A INPUT -d 10.1 -j ACCEPT"],
  [4, "filter", "-A INPUT -d 10 -j ACCEPT"],
  [4, "filter", "-A INPUT -d 0x0a.0.0.1 -j ACCEPT"],
  [4, "filter", "-A INPUT -d 1.2.3.0000000000000000005 -j ACCEPT"],
  [4, "filter", "-A INPUT -d 10.0.0.1/255.0.255.0 -j ACCEPT"],
  [4, "filter", "-A INPUT -d 10.0.0.1/00 -j ACCEPT"],
  [4, "filter", "-A INPUT -d 10.0.0.1/0x8 -j ACCEPT"],
  [4, "filter", "-A INPUT -d 10.0.0.1/08 -j ACCEPT"],
  [4, "filter", "-A INPUT -s nowhere/0 -j ACCEPT"],
  [4, "filter", "-A INPUT -d 010.0.0.1,10.0.0.2 -j ACCEPT"],
  [4, "filter", "-A INPUT -d 10.0.0.256 -j ACCEPT"],
  [4, "filter", "-A INPUT -d 10.0.0.1. -j ACCEPT"],
  [4, "filter", "-A INPUT -p 010 -j ACCEPT"],
  [4, "filter", "-A INPUT -p 0x11 -j ACCEPT"],
  [4, "filter", "-A INPUT -p 08 -j ACCEPT"],
  [4, "filter", "-A INPUT -p tcp -m tcp --dport 0x50 -j ACCEPT"],
  [4, "filter", "-A INPUT -p udp -m udp --dport 010 -j ACCEPT"],
  [4, "filter", "-A INPUT -p udp -m udp --dport 0x50 -j ACCEPT"],
  [4, "filter", "-A INPUT -p sctp -m sctp --dport 010 -j ACCEPT"],
  [4, "filter", "-A INPUT -p udp -m multiport --dports 010,0x20 -j ACCEPT"],
  [4, "filter", "-A INPUT -p icmp -m icmp --icmp-type 010/00 -j ACCEPT"],
  [4, "filter", "-A INPUT -m conntrack --ctorigdst 10.1 -j ACCEPT"],
  [4, "filter", "-A INPUT -m conntrack --ctorigdst 167772161 -j ACCEPT"],
  [4, "filter", "-A INPUT -m conntrack --ctorigdst 10.0.0.1/031 -j ACCEPT"],
  [4, "filter", "-A INPUT -m conntrack --ctorigdst 10.0.0.1/255.0.0.0 -j ACCEPT"],
  [4, "filter", "-A INPUT -m conntrack --ctorigdst 0x.1.2.3 -j ACCEPT"],
  [4, "filter", "-A INPUT -m conntrack --ctproto 0x6 --ctorigdstport 080 -j ACCEPT"],
  [4, "filter", "-A INPUT -m recent --set --name x --mask 10.1 --rsource -j ACCEPT"],
  [4, "filter", "-A INPUT -m iprange --src-range 10.1-10.2 -j ACCEPT"],
  [4, "mangle", "-A PREROUTING -p tcp -j TPROXY --on-port 1 --on-ip 10.1"],
  [4, "mangle", "-A PREROUTING -p tcp -j TPROXY --on-port 0x50 --on-ip 10.0.0.1"],
  [4, "nat", "-A PREROUTING -j NETMAP --to 10.1/24"],
  [4, "nat", "-A PREROUTING -j NETMAP --to 10.0.0.1/010"],
  [4, "nat", "-A PREROUTING -p tcp -j DNAT --to-destination 10.1"],
  [4, "nat", "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:0x50-0120"],
  [6, "filter", "-A INPUT -s 2001:db8::1/010 -j ACCEPT"],
  [6, "filter", "-A INPUT -s 2001:db8::1/0x40 -j ACCEPT"],
  [6, "filter", "-A INPUT -s 2001:db8::1/ffff:ffff:: -j ACCEPT"],
  [6, "filter", "-A INPUT -d 02001:db8::1 -j ACCEPT"],
  [6, "filter", "-A INPUT -d ::ffff:1.2.3.4 -j ACCEPT"],
  [6, "filter", "-A INPUT -d ::ffff:1.2.3.04 -j ACCEPT"],
  [6, "filter", "-A INPUT -d 1:2:3:4:5:6:7:: -j ACCEPT"],
  [6, "filter", "-A INPUT -d 1:2:3:4:5:6:7:8:: -j ACCEPT"],
  [6, "filter", "-A INPUT -d 1:2:3:4:5:6:7:8 -j ACCEPT"],
  [6, "filter", "-A INPUT -d 1::2::3 -j ACCEPT"],
];

/** Options whose value is a name or free text: their digits are not numbers to respell. */
const NOT_NUMBERS = new Set(["-A", "-j", "-g", "--log-prefix", "--nflog-prefix", "--hashlimit-name", "--name", "--hex-string", "--algo", "-i", "-o"]);

/** The line with one number respelled, for every number of every option value and both spellings. */
function respellings(line: string): string[] {
  const words = line.split(" ");
  const out: string[] = [];
  for (let i = 2; i < words.length; i++) {
    if (!words[i - 1]!.startsWith("-") || NOT_NUMBERS.has(words[i - 1]!) || words[i]!.startsWith('"')) continue;
    for (const m of words[i]!.matchAll(/\d+/g)) {
      const at = m.index;
      const before = words[i]![at - 1];
      const after = words[i]![at + m[0].length];
      // Digits inside a word (`ipv6`, `0x1f`) are not a number of their own.
      if ((before && /[A-Za-z]/.test(before)) || (after && /[A-Za-z]/.test(after) && !/^(sec|min|hour|day|kb|mb|b)\b/.test(words[i]!.slice(at + m[0].length)))) continue;
      for (const spelling of [`0${m[0]}`, `0x${Number(m[0]).toString(16)}`]) {
        const w = [...words];
        w[i] = words[i]!.slice(0, at) + spelling + words[i]!.slice(at + m[0].length);
        out.push(w.join(" "));
      }
    }
  }
  return out;
}

/** A table holding the one line, with the user chains it names declared. */
function dump(table: string, line: string): string {
  const builtin = /^(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING)$/;
  const chains = new Set<string>();
  const a = /^-A (\S+)/.exec(line)![1]!;
  if (!builtin.test(a)) chains.add(a);
  for (const m of line.matchAll(/-[jg] (BIG|V6IN|ALLOW-IN)\b/g)) chains.add(m[1]!);
  return [`*${table}`, ...[...chains].map((c) => `:${c} - [0:0]`), line, "COMMIT", ""].join("\n");
}

function kernelReads(family: 4 | 6, table: string, text: string): string {
  const tool = family === 6 ? "ip6tables" : "iptables";
  const r = spawnSync("ip", ["netns", "exec", NS, `${tool}-restore`], { input: text, encoding: "utf8" });
  let out = "refused";
  if (r.status === 0) {
    const saved = spawnSync("ip", ["netns", "exec", NS, `${tool}-save`, "-t", table], { encoding: "utf8" }).stdout;
    out = saved.split("\n").filter((l) => l.startsWith("-A ")).join("\n");
  }
  spawnSync("ip", ["netns", "exec", NS, tool, "-t", table, "-F"]);
  spawnSync("ip", ["netns", "exec", NS, tool, "-t", table, "-X"]);
  return out;
}

function netfateReads(family: 4 | 6, text: string): string {
  const p = parseRules(text, { family: family === 6 ? "ipv6" : "ipv4" });
  if (p.diagnostics.some((d) => d.severity === "error")) return "refused";
  return saveText(p.value).split("\n").filter((l) => l.startsWith("-A ")).join("\n");
}

/** A one-rule nft table of `family` whose rule is `expr accept`. */
function nftTable(family: string, expr: string): string {
  return `table ${family} t {\n\tchain c {\n\t\ttype filter hook input priority 0;\n\t\t${expr} accept\n\t}\n}\n`;
}

/** The rule as nft lists it back (`refused` when nft -f refuses it). */
function nftReads(family: string, expr: string): string {
  const text = nftTable(family, expr);
  const r = spawnSync("ip", ["netns", "exec", NS, "nft", "-f", "-"], { input: text, encoding: "utf8" });
  const listed = r.status === 0 ? spawnSync("ip", ["netns", "exec", NS, "nft", "list", "ruleset"], { encoding: "utf8" }).stdout : "";
  spawnSync("ip", ["netns", "exec", NS, "nft", "flush", "ruleset"]);
  return r.status === 0 ? acceptRule(listed) : "refused";
}

/** The rule as netfate reads and prints it (`refused` when netfate reports an error). */
function netfateNftReads(family: string, expr: string): string {
  const p = parseNftText(nftTable(family, expr), "<t>");
  return p.diagnostics.some((d) => d.severity === "error") ? "refused" : acceptRule(printNftRuleset(p.ruleset));
}

function acceptRule(listing: string): string {
  return listing.split("\n").map((l) => l.trim()).filter((l) => l.endsWith(" accept") && !l.includes("policy")).join("\n");
}

describe.skipIf(why !== undefined)(`number and address spellings, netfate beside iptables-restore${why ? ` (skipped: ${why})` : ""}`, () => {
  inNamespace(NS);

  it("respelled numbers read as the kernel's tool reads them", () => {
    const cases: Case[] = BASES.flatMap(([f, t, line]) => respellings(line).map((l): Case => [f, t, l]));
    expect(cases.length).toBeGreaterThan(250);
    const differ: string[] = [];
    for (const [family, table, line] of cases) {
      const text = dump(table, line);
      const kernel = kernelReads(family, table, text);
      const netfate = netfateReads(family, text);
      if (kernel !== netfate) differ.push(`${line}\n  kernel:  ${kernel}\n  netfate: ${netfate}`);
    }
    expect(differ).toEqual([]);
  }, 600_000);

  it.each(LITERALS)("IPv%s %s: %s", (family, table, line) => {
    const text = dump(table, line);
    expect(netfateReads(family, text)).toBe(kernelReads(family, table, text));
  });

  // nft has rules of its own: `010` is octal, `09` and `0789` decimal, a prefix length base 0.
  it.each([
    "tcp dport 010", "tcp dport 0x50", "tcp dport 080", "tcp dport 09", "tcp dport 0789", "tcp dport 00010",
    "meta mark 010", "ip ttl 010", "tcp dport { 010, 020 }", "tcp dport 010-020",
    "ip daddr 10.0.0.0/010", "ip daddr 10.0.0.0/0x8", "ip daddr 10.0.0.0/08",
    // An address: four dotted groups read as inet_aton reads them, or one integer.
    "ip daddr 010.0.0.1", "ip daddr 167772161", "ip daddr 0x0a000001", "ip daddr 010", "ip daddr 08", "ip daddr 0789",
    "ip daddr 4294967295", "ip daddr 4294967296", "ip daddr 10.0.0.09", "ip daddr 1.2.3.256", "ip daddr 010.0.0.0/010",
    "ip daddr { 010.0.0.1, 167772161 }",
    // Ranges: a low end above the high end is refused, one value taken; which end is higher after reading.
    "ip daddr 010.0.0.1-10.0.0.9", "ip daddr 10.0.0.1-010.0.0.9", "ip daddr 10.0.0.1-10.0.0.1", "tcp dport 20-10",
    "tcp dport { 20-10 }", "meta mark 5-3", "ct mark 0x10-0x20",
  ])("nft: %s accept", (expr) => {
    expect(netfateNftReads("ip", expr)).toBe(nftReads("ip", expr));
  });

  // The same in an inet table: IPv6 ranges (a high end starting with `::`), names, times.
  it.each([
    "ip6 daddr ::2-::1", "ip6 daddr ::1-::2", "ip6 daddr { ::1-::2, 2001:db8::1-2001:db8::ff }", 'meta iifname "eth0"-"eth9"',
    "meta iifname eth0-eth9", 'meta time "2021-01-01"-"2020-01-01"', 'meta time "2020-01-01"-"2021-01-01"',
    // A reversed hour or day range: the range the other way round and the relation inverted;
    // in a set, refused.
    'meta hour "17:00"-"09:00"', 'meta hour != "17:00"-"09:00"', 'meta hour "17:00:30"-"09:00"', 'meta hour "09:00"-"17:00"',
    'meta day "Friday"-"Monday"', 'meta day != "Saturday"-"Sunday"', 'meta day "Monday"-"Friday"', 'meta hour { "17:00"-"09:00" }',
  ])("nft inet: %s accept", (expr) => {
    expect(netfateNftReads("inet", expr)).toBe(nftReads("inet", expr));
  });

  // ipset restore reads every number base 0 too: prefix lengths, ports, protocols, ICMP type/code.
  // netfate keeps an element's text as written; what must agree is the element it stands for.
  it.each([
    ["hash:net", "10.0.0.0/010"], ["hash:net", "10.0.0.0/0x8"], ["hash:net", "10.0.0.0/08"],
    ["hash:ip,port", "10.0.0.1,tcp:010"], ["hash:ip,port", "10.0.0.1,tcp:0x50"], ["hash:ip,port", "10.0.0.1,tcp:080"],
    ["hash:ip,port", "10.0.0.1,icmp:010/00"], ["hash:ip,port", "10.0.0.1,010:0"], ["hash:ip,port", "10.0.0.1,0x6:1"],
    // Addresses: inet_aton without hex.
    ["hash:net", "010.0.0.1"], ["hash:net", "10.1"], ["hash:net", "10.1.2"], ["hash:net", "167772161"], ["hash:net", "10.256"],
    ["hash:net", "010"], ["hash:net", "0377.0.0.1"], ["hash:net", "012.0.0.1/8"], ["hash:net", "4294967295"],
    ["hash:net", "0x0a000001"], ["hash:net", "10.0.0.09"], ["hash:net", "1.2.3.256"], ["hash:net", "0400.0.0.1"], ["hash:net", "08"],
    ["hash:net", "10.16777216"], ["hash:ip", "010.0.0.1"], ["hash:ip,port", "010.0.0.1,tcp:80"],
  ])("ipset %s: add %s", (type, element) => {
    const text = `create s ${type} family inet\nadd s ${element}\n`;
    const r = spawnSync("ip", ["netns", "exec", NS, "ipset", "restore"], { input: text, encoding: "utf8" });
    const saved = r.status === 0 ? spawnSync("ip", ["netns", "exec", NS, "ipset", "save", "s"], { encoding: "utf8" }).stdout : "";
    spawnSync("ip", ["netns", "exec", NS, "ipset", "destroy", "s"]);
    expect(elementKeys(text)).toEqual(r.status === 0 ? elementKeys(saved) : "refused");
  });
});

/** The elements a set's text stands for, as netfate keys them, or "refused". */
function elementKeys(text: string): unknown {
  const p = parseIpsets(text);
  if (p.diagnostics.some((d) => d.severity !== "info")) return "refused";
  const set = p.value.sets[0]!;
  const header = setHeader(set);
  if ("problem" in header) return header.problem;
  return set.entries.map((e) => parseElement(set.type, header, e.text));
}
