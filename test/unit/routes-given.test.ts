/**
 * Routes not given are not "no routes". A routing dump always lists the connected routes
 * (`proto kernel`), so node facts that hold interfaces and no route of a family were not
 * collected for it: a packet bound beyond the interfaces' own subnets goes where the input does
 * not say, and the answer is indeterminate, naming what to give. A family whose routes are
 * given keeps its confident "unroutable" when no route holds the destination.
 */
import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { runCli } from "../support/cli-in-process.js";

const root = resolve(import.meta.dirname, "../..");
const sample = (p: string) => resolve(root, "samples", p);
const hostRules = ["--rules", sample("host-firewall/rules.save")];

describe("routes not given", () => {
  it("interfaces alone: a packet for beyond their subnets is indeterminate (exit 3), saying what to give", async () => {
    const r = await runCli(["why-dropped", ...hostRules, "--iface", "eth0=192.168.0.11/24", "tcp 192.168.0.50:40000 -> 8.8.8.8:443 in eth0"]);
    expect(r.out).toContain("Cannot tell");
    expect(r.out).toContain("no IPv4 routes given: where 8.8.8.8 goes is not known");
    expect(r.out).toContain("ip -j route show table all");
    expect(r.out).not.toMatch(/unroutable/);
    expect(r.code).toBe(3);
  });

  it("interfaces alone: a packet for their own subnet is still routed there", async () => {
    const r = await runCli(["trace", ...hostRules, "--iface", "eth0=192.168.0.11/24", "--iface", "eth1=10.1.0.1/24", "tcp 192.168.0.50:40000 -> 10.1.0.9:443 in eth0"]);
    expect(r.out).toMatch(/forwarded out eth1\n/);
    expect(r.out).not.toMatch(/no IPv4 routes given/);
  });

  it("a default route given: the same packet is forwarded", async () => {
    const r = await runCli(["trace", ...hostRules, "--iface", "eth0=192.168.0.11/24", "--route", "default via 192.168.0.1 dev eth0", "tcp 192.168.0.50:40000 -> 8.8.8.8:443 in eth0"]);
    expect(r.out).not.toMatch(/routes given/);
    expect(r.out).toMatch(/forwarded out eth0 via 192\.168\.0\.1/);
  });

  it("routes given without a default: a destination none of them holds is confidently unroutable (exit 1)", async () => {
    const r = await runCli(["why-dropped", ...hostRules, "--iface", "eth0=192.168.0.11/24", "--route", "10.0.0.0/8 via 192.168.0.1 dev eth0", "tcp 192.168.0.50:40000 -> 8.8.8.8:443 in eth0"]);
    expect(r.out).toMatch(/unroutable: .*no route to 8\.8\.8\.8/);
    expect(r.code).toBe(1);
  });

  it("per family: IPv4 routes say nothing of IPv6, and firewalld's reverse-path rule is no confident drop", async () => {
    const r = await runCli(["why-dropped", "--rules", sample("007-firewalld/ruleset.nft"), "--node", sample("007-firewalld/node.json"), "tcp [2001:db8::7]:40000 -> [2001:db8:1::10]:22 in eth0"]);
    // The rpfilter rule (`fib saddr . mark . iif oif missing drop`) asks a table nobody gave.
    expect(r.out).toMatch(/Dropped in 1 of 2 outcomes, depending on what is assumed/);
    expect(r.out).toMatch(/fib saddr \. mark \. iif oif: no IPv6 routes given/);
    expect(r.out).toContain("ip -6 -j route show table all");
    // An IPv4 packet of the same node is routed as before.
    const v4 = await runCli(["trace", "--rules", sample("007-firewalld/ruleset.nft"), "--node", sample("007-firewalld/node.json"), "tcp 203.0.113.7:40000 -> 8.8.8.8:443 in eth1"]);
    expect(v4.out).toMatch(/forwarded out eth0 via 192\.168\.122\.1/);
    expect(v4.out).not.toMatch(/routes given/);
  });
});
