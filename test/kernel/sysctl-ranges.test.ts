/**
 * What the kernel holds in the routing sysctls netfate reads, asked of the kernel: each value
 * is written in a fresh network namespace and read back. sysctlValueProblem must accept
 * exactly what the kernel keeps (rp_filter takes 3 and -1 too, not only 0-2).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { kernelSkipReason } from "./harness.js";
import { confKey, CONF_READ, sysctlValueProblem } from "../../src/facts/sysctl.js";

const why = kernelSkipReason();
const ns = `nfsysctl${process.pid}`;
const inNs = (...args: string[]) => spawnSync("ip", ["netns", "exec", ns, ...args], { encoding: "utf8" });

describe.skipIf(why !== undefined)(`routing sysctl ranges, as the kernel keeps them${why ? ` (skipped: ${why})` : ""}`, () => {
  beforeAll(() => {
    expect(spawnSync("ip", ["netns", "add", ns]).status).toBe(0);
    // An interface with a dot in its name: sysctl names it with a slash.
    expect(spawnSync("ip", ["-n", ns, "link", "add", "eth0.1", "type", "veth", "peer", "name", "p0"]).status).toBe(0);
  });
  afterAll(() => {
    spawnSync("ip", ["netns", "del", ns]);
  });

  it("every key netfate reads for all, default and an interface: the kernel keeps exactly what the reader accepts", () => {
    const values = ["0", "1", "2", "3", "-1", "2147483647", "-2147483648", "2147483648", "banana"];
    for (const family of ["ipv4", "ipv6"] as const) {
      for (const iface of ["all", "default", "eth0.1"]) {
        for (const setting of CONF_READ[family]) {
          const key = confKey(family, iface, setting);
          for (const v of values) {
            const w = inNs("sysctl", "-q", "-w", `${key}=${v}`);
            const back = inNs("sysctl", "-n", key).stdout.trim();
            const kept = w.status === 0 && back === v;
            expect([key, v, kept]).toEqual([key, v, sysctlValueProblem(key, v) === undefined]);
          }
          inNs("sysctl", "-q", "-w", `${key}=0`);
        }
      }
    }
  });
});
