/**
 * The reference time for nftables input: `nft -c -f FILE` (check only — nft parses, evaluates
 * and has the kernel validate the whole batch, then commits nothing) in a network namespace of
 * its own, as iptables-restore --test is the reference for iptables-save dumps. The bench can
 * print it beside netfate's parse of the same file.
 */
import { spawnSync } from "node:child_process";

/**
 * Wall seconds of `nft -c -f file` in a fresh namespace, best of `runs`; or why it could not
 * be measured (not root, or nft refused the file: its first error line).
 */
export function nftCheckSeconds(file: string, runs = 3): number | string {
  if (process.getuid?.() !== 0) return "not root";
  const ns = `netfate-bench-nft${process.pid}`;
  spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  const add = spawnSync("ip", ["netns", "add", ns], { encoding: "utf8" });
  if (add.status !== 0) return `ip netns add failed: ${add.stderr.trim()}`;
  try {
    let best = Infinity;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const r = spawnSync("ip", ["netns", "exec", ns, "nft", "-c", "-f", file], { encoding: "utf8", maxBuffer: 1 << 26 });
      const seconds = (performance.now() - t0) / 1000;
      if (r.status !== 0) return `nft refused: ${(r.stderr || r.stdout).split("\n")[0]}`;
      best = Math.min(best, seconds);
    }
    return best;
  } finally {
    spawnSync("ip", ["netns", "del", ns]);
  }
}
