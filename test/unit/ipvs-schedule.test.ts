/**
 * The schedulers' picks on a quiet node, each hand-checked against its kernel source
 * (net/netfilter/ipvs/ip_vs_*.c), and the service lookup (ip_vs_ctl.c ip_vs_service_find).
 */
import { describe, expect, it } from "vitest";
import { parseIpvs } from "../../src/ipvs/index.js";
import { findIpvsService, hash32, ipvsPicks, shBuckets, shHashKey, type IpvsFlow } from "../../src/netfilter/ipvs.js";
import type { IpvsService } from "../../src/model/ipvs.js";

function service(save: string): IpvsService {
  const r = parseIpvs(save);
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.value.services[0]!;
}

const flow: IpvsFlow = { family: "ipv4", src: "172.20.151.77", dst: "10.96.0.10", sport: 47334 };
const picked = (svc: IpvsService, f = flow, ordered = true) =>
  ipvsPicks(svc, f, ordered).map((p) => [p.server ? `${p.server.address}:${p.server.port}` : "none", p.given !== undefined ? "alternative" : p.probability]);

const three = (sched: string, w: [number, number, number], extra = "") =>
  service(`-A -t 10.96.0.10:80 -s ${sched}${extra}\n` + w.map((x, i) => `-a -t 10.96.0.10:80 -r 10.0.0.${i + 1}:80 -m -w ${x}`).join("\n") + "\n");

describe("hash_32 (include/linux/hash.h) and the sh/dh tables", () => {
  it("hash_32(v, 8) is the top byte of v * 0x61C88647 (hand-checked: computed apart as ((v * 0x61C88647) & 0xffffffff) >> 24)", () => {
    expect(hash32(0x0a000001, 8)).toBe(39);
    expect(hash32(0xac14974d, 8)).toBe(226);
    expect(hash32(0x0a6ba1ff, 8)).toBe(104);
    // sh-port: the source port is added to the address before hashing (ip_vs_sh_hashkey).
    expect(shHashKey(0xac14974d, 47334, 0)).toBe(220);
  });

  it("hand-checked against ip_vs_sh.c ip_vs_sh_reassign: each server takes `weight` buckets in a row, weight 0 takes one", () => {
    const s = three("sh", [2, 1, 0]);
    expect(shBuckets(s.servers).slice(0, 8)).toEqual([0, 0, 1, 2, 0, 0, 1, 2]);
  });
});

describe("schedulers on a quiet node, servers in the kernel's order (--nosort)", () => {
  it("rr: each server with weight > 0 equally likely (ip_vs_rr.c skips weight 0; the rotation's position is unknown)", () => {
    expect(picked(three("rr", [1, 0, 5]))).toEqual([["10.0.0.1:80", 0.5], ["10.0.0.3:80", 0.5]]);
    expect(ipvsPicks(three("rr", [1, 0, 5]), flow, true)[0]!.assumes).toMatch(/rotation stands is not known/);
  });

  it("wrr: in proportion to weight (ip_vs_wrr.c: weight/gcd picks a round)", () => {
    expect(picked(three("wrr", [1, 0, 3]))).toEqual([["10.0.0.1:80", 0.25], ["10.0.0.3:80", 0.75]]);
  });

  it("rr and wrr with one server of weight > 0: that one, nothing assumed", () => {
    for (const sched of ["rr", "wrr"]) {
      const p = ipvsPicks(three(sched, [0, 2, 0]), flow, true);
      expect(p.map((k) => [k.server?.address, k.probability, k.assumes])).toEqual([["10.0.0.2", 1, undefined]]);
    }
  });

  it("hand-checked against ip_vs_wlc.c / ip_vs_lc.c / ip_vs_nq.c: with every count 0, the first server with weight > 0", () => {
    for (const s of ["lc", "wlc", "nq", "lblc", "lblcr"]) {
      expect(picked(three(s, [0, 1, 9])), s).toEqual([["10.0.0.2:80", 1]]);
      expect(ipvsPicks(three(s, [0, 1, 9]), flow, true)[0]!.assumes, s).toMatch(/quiet node/);
    }
  });

  it("hand-checked against ip_vs_sed.c: (0 + 1) / weight is smallest for the heaviest; ties to the first (strict >)", () => {
    expect(picked(three("sed", [1, 4, 4]))).toEqual([["10.0.0.2:80", 1]]);
    expect(picked(three("fo", [3, 1, 2]))).toEqual([["10.0.0.1:80", 1]]);
    expect(picked(three("ovf", [0, 0, 2]))).toEqual([["10.0.0.3:80", 1]]);
  });

  it("hand-checked against ip_vs_twos.c: get_random_u32_below(total + 1) walked down the list to <= 0; the first server takes weight + 1 values", () => {
    const s = service("-A -t 10.96.0.10:80 -s twos\n-a -t 10.96.0.10:80 -r 10.0.0.1:80 -m -w 1\n-a -t 10.96.0.10:80 -r 10.0.0.2:80 -m -w 3\n");
    // Draws 0..4: 0 and 1 end at the first server (1 - 1 <= 0), 2, 3, 4 at the second.
    expect(picked(s)).toEqual([["10.0.0.1:80", 2 / 5], ["10.0.0.2:80", 3 / 5]]);
    // Without the kernel's order, which server is first is an alternative, each with its chances.
    const unsorted = ipvsPicks(s, flow, false).map((p) => [p.server!.address, p.probability, p.given]);
    expect(unsorted).toEqual([
      ["10.0.0.1", 2 / 5, expect.stringContaining("10.0.0.1:80 assumed first")], ["10.0.0.2", 3 / 5, expect.stringContaining("10.0.0.1:80 assumed first")],
      ["10.0.0.1", 1 / 5, expect.stringContaining("10.0.0.2:80 assumed first")], ["10.0.0.2", 4 / 5, expect.stringContaining("10.0.0.2:80 assumed first")],
    ]);
  });

  it("hand-checked against ip_vs_sh.c: 172.20.151.77 hashes to bucket 226; buckets alternate A,B (weights 1,1) → A; A,A,B (2,1) → 226 mod 3 = 1 → A; A,B,B (1,2) → B", () => {
    const two = (wa: number, wb: number, extra = "") =>
      service(`-A -t 10.96.0.10:80 -s sh${extra}\n-a -t 10.96.0.10:80 -r 10.0.0.1:80 -m -w ${wa}\n-a -t 10.96.0.10:80 -r 10.0.0.2:80 -m -w ${wb}\n`);
    expect(picked(two(1, 1))).toEqual([["10.0.0.1:80", 1]]);
    expect(picked(two(2, 1))).toEqual([["10.0.0.1:80", 1]]);
    expect(picked(two(1, 2))).toEqual([["10.0.0.2:80", 1]]);
    // Weight 0 holds its bucket: no server (ip_vs_leave), unless sh-fallback goes round the table.
    expect(picked(two(0, 1))).toEqual([["none", 1]]);
    expect(picked(two(0, 1, " -b sh-fallback"))).toEqual([["10.0.0.2:80", 1]]);
    // sh-port: 172.20.151.77:47334 → bucket 220, even → A with weights 1,1; port 47338 → bucket 99, odd → B.
    expect(picked(two(1, 1, " -b sh-port"))).toEqual([["10.0.0.1:80", 1]]);
    expect(picked(two(1, 1, " -b sh-port"), { ...flow, sport: 47338 })).toEqual([["10.0.0.2:80", 1]]);
  });

  it("hand-checked against ip_vs_dh.c: 10.107.161.255 hashes to bucket 104; bucket i holds server i mod n → 104 mod 3 = 2", () => {
    expect(picked(three("dh", [1, 1, 1]), { ...flow, dst: "10.107.161.255" })).toEqual([["10.0.0.3:80", 1]]);
  });

  it("mh and unknown schedulers: one alternative per server, never a made-up chance", () => {
    expect(picked(three("mh", [1, 0, 1]))).toEqual([["10.0.0.1:80", "alternative"], ["10.0.0.3:80", "alternative"]]);
    expect(picked(three("my-own", [1, 1, 1]))).toHaveLength(3);
  });

  it("no server with weight > 0: none (the kernel then calls ip_vs_leave)", () => {
    expect(picked(three("wlc", [0, 0, 0]))).toEqual([["none", 1]]);
    expect(picked(three("rr", [0, 0, 0]))).toEqual([["none", 1]]);
  });
});

describe("without the kernel's order (ipvsadm sorts by address unless --nosort)", () => {
  it("the list-walking schedulers give one alternative per candidate; rr and wrr do not depend on it", () => {
    expect(picked(three("wlc", [0, 1, 9]), flow, false)).toEqual([["10.0.0.2:80", "alternative"], ["10.0.0.3:80", "alternative"]]);
    expect(picked(three("sed", [1, 4, 2]), flow, false)).toEqual([["10.0.0.2:80", 1]]);
    expect(picked(three("rr", [1, 1, 1]), flow, false).map((p) => p[1])).toEqual([1 / 3, 1 / 3, 1 / 3]);
    // sh: the bucket is known, its server is not; a weight-0 server may hold it.
    expect(picked(three("sh", [1, 0, 1]), flow, false)).toEqual([["10.0.0.1:80", "alternative"], ["10.0.0.3:80", "alternative"], ["none", "alternative"]]);
  });

  it("a --stats listing (no scheduler, no weights): one alternative per server", () => {
    const s = parseIpvs("Prot LocalAddress:Port Conns InPkts OutPkts InBytes OutBytes\n  -> RemoteAddress:Port\nTCP  10.96.0.10:80 0 0 0 0 0\n  -> 10.0.0.1:80 0 0 0 0 0\n  -> 10.0.0.2:80 0 0 0 0 0\n").value.services[0]!;
    expect(picked(s)).toEqual([["10.0.0.1:80", "alternative"], ["10.0.0.2:80", "alternative"]]);
  });
});

describe("ip_vs_service_find", () => {
  const t = parseIpvs(
    "-A -f 7 -s rr\n-a -f 7 -r 10.0.0.9:0 -m -w 1\n-A -t 10.96.0.10:80 -s rr\n-a -t 10.96.0.10:80 -r 10.0.0.1:80 -m -w 1\n-A -t 10.96.0.10:0 -s rr -p 60\n-a -t 10.96.0.10:0 -r 10.0.0.2:0 -g -w 1\n",
  ).value;
  it("a firewall-mark service first, then protocol/address/port, then the address's port-zero service", () => {
    expect(findIpvsService(t, { family: "ipv4", proto: 6, dst: "10.96.0.10", dport: 80, mark: 7 })?.index).toBe(0);
    expect(findIpvsService(t, { family: "ipv4", proto: 6, dst: "10.96.0.10", dport: 80, mark: 0 })?.index).toBe(1);
    expect(findIpvsService(t, { family: "ipv4", proto: 6, dst: "10.96.0.10", dport: 443, mark: 0 })?.index).toBe(2);
    expect(findIpvsService(t, { family: "ipv4", proto: 17, dst: "10.96.0.10", dport: 80, mark: 0 })).toBeUndefined();
    expect(findIpvsService(t, { family: "ipv6", proto: 6, dst: "10.96.0.10", dport: 80, mark: 7 })).toBeUndefined();
  });
});
