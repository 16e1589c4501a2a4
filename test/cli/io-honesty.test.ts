/**
 * No input file, pipe or flag can hang netfate, fill its memory, crash it with a stack trace or
 * make it read what it must not; a closed or full stdout ends it with a code that says so.
 * Commands run in-process through main() with a fake IO where they can, as the real binary
 * where the process's own descriptors matter (stdin, a closed pipe, /dev/full).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { main } from "../../src/cli/app.js";
import { OutputClosed, OutputFailed, type CommandIO } from "../../src/cli/io.js";
import { DEFAULT_MAX_INPUT } from "../../src/cli/bounded-read.js";
import { MANIFEST } from "../../src/cli/bundle.js";

const root = resolve(import.meta.dirname, "../..");
const bin = resolve(root, "dist/src/cli/main.js");
const fwRules = resolve(root, "samples/host-firewall/rules.save");
const fwNode = resolve(root, "samples/host-firewall/node.json");
const fw = ["--rules", fwRules, "--node", fwNode];
const PACKET = "tcp 203.0.113.7:51000 -> 192.168.0.11:22 in eth0";

function fakeIO(stdin = "", out?: (s: string) => void) {
  const o: string[] = [];
  const e: string[] = [];
  const io: CommandIO = {
    out: out ?? ((s) => void o.push(s)),
    err: (s) => void e.push(s),
    readStdin: () => stdin,
    isTTY: false,
  };
  return { io, out: () => o.join(""), err: () => e.join("") };
}

async function run(argv: string[], stdin = "") {
  const f = fakeIO(stdin);
  const code = await main(argv, f.io);
  return { code, out: f.out(), err: f.err() };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "netfate-io-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mkfifo(path: string): void {
  const r = spawnSync("mkfifo", [path]);
  expect(r.status, String(r.stderr)).toBe(0);
}

describe("inputs: regular files only, size-capped", () => {
  it("refuses a FIFO (it would wait for a writer forever), a device and a link to one, in one line", async () => {
    const fifo = join(dir, "rules.fifo");
    mkfifo(fifo);
    symlinkSync("/dev/zero", join(dir, "zero.save"));
    for (const [file, kind] of [[fifo, "a named pipe"], ["/dev/zero", "a character device"], [join(dir, "zero.save"), "a character device"]] as const) {
      for (const argv of [["parse", file], ["trace", "--rules", file, PACKET], ["trace", ...fw, "--node", file, PACKET], ["batch", ...fw, "--packets", file]]) {
        const r = await run(argv);
        expect(r.code, argv.join(" ")).toBe(2);
        expect(r.err).toBe(`netfate: cannot read ${file}: it is ${kind}, not a regular file (to read a pipe, give - and send it on stdin)\n`);
        expect(r.out).toBe("");
      }
    }
  });

  it("refuses a file over --max-input-size, and the default fits a 10,000-service kube-proxy dump three times", async () => {
    expect(DEFAULT_MAX_INPUT).toBeGreaterThanOrEqual(3 * 17_034_337);
    const kp = resolve(root, "samples/kube-proxy-basic/rules.save"); // 8.6 KiB
    const r = await run(["parse", "--max-input-size", "1K", kp]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`netfate: ${kp} is larger than 1 KiB, the input size limit (--max-input-size raises it)\n`);
    expect((await run(["parse", "-q", "--max-input-size", "16K", kp])).code).toBe(0);
    const t = await run(["trace", "-q", "--max-input-size", "100", ...fw, PACKET]);
    expect(t.code).toBe(2);
    expect(t.err).toContain("is larger than 100 bytes");
    for (const bad of ["0", "1T", "lots", "-5", "600M"]) {
      const b = await run(["parse", "--max-input-size", bad, fwRules]);
      expect(b.code, bad).toBe(2);
      expect(b.err).toMatch(/^netfate: --max-input-size (takes a size|must be at least|is at most 512 MiB)/);
    }
  });

  it("refuses a file of more lines than one per 16 bytes of the limit (20 million empty lines took 4 GB and ended in exit 70)", async () => {
    const blank = join(dir, "blank.txt");
    writeFileSync(blank, "\n".repeat(100));
    const r = await run(["parse", "--max-input-size", "1K", blank]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`netfate: ${blank} has more than 64 lines, the line limit that goes with the input size limit of 1 KiB (--max-input-size raises both)\n`);
    const ok = join(dir, "sixty-four.txt");
    writeFileSync(ok, "\n".repeat(64));
    expect((await run(["parse", "--max-input-size", "1K", ok])).err).not.toContain("line limit");
  });

  it("reads stdin up to the limit and no further (/dev/zero on stdin ends, exit 2)", () => {
    const zero = openSync("/dev/zero", "r");
    try {
      const r = spawnSync(process.execPath, [bin, "parse", "--max-input-size", "1M", "-"], { stdio: [zero, "pipe", "pipe"], encoding: "utf8", timeout: 60_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toBe("netfate: stdin is larger than 1 MiB, the input size limit (--max-input-size raises it)\n");
    } finally {
      closeSync(zero);
    }
  });

  it("diff of two bundle directories reads only the bundle's files: a FIFO, a link to /dev/zero or a dangling link beside them is not read", async () => {
    const sides = ["old", "new"].map((n) => {
      const d = join(dir, `bundle-${n}`);
      mkdirSync(d);
      writeFileSync(join(d, "iptables-save.txt"), readFileSync(fwRules));
      writeFileSync(join(d, "node.json"), readFileSync(fwNode));
      mkfifo(join(d, "stray.fifo"));
      symlinkSync("/dev/zero", join(d, "zero.txt"));
      symlinkSync(join(dir, "nowhere"), join(d, "dangling.txt"));
      writeFileSync(join(d, "notes.txt"), "not a dump\n");
      return d;
    });
    const r = await run(["diff", "--random", "50", ...sides]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^No differences: \d+ packets tried/);
    expect(r.err).toContain(`note: ${sides[0]}: no ${MANIFEST} (a bundle from an older netfate collect): reading the files it has by their known names\n`);
    // A bundle's own file name that is a link: refused, not followed.
    symlinkSync("/dev/zero", join(sides[1]!, "sysctl.txt"));
    const l = await run(["diff", "-q", ...sides]);
    expect(l.code).toBe(2);
    expect(l.err).toBe(`netfate: cannot read ${join(sides[1]!, "sysctl.txt")}: it is a symbolic link (a bundle made by netfate collect has none)\n`);
  });

  it("--bundle reads exactly the files its manifest names, and refuses a manifest naming anything else", async () => {
    const d = join(dir, "manifested");
    mkdirSync(d);
    writeFileSync(join(d, "iptables-save.txt"), readFileSync(fwRules));
    // Left from an earlier run and not in the manifest: must not be read (it is not even valid).
    writeFileSync(join(d, "node.json"), "{ broken");
    const manifest = (entries: unknown[]) => writeFileSync(join(d, MANIFEST), JSON.stringify({ format: "netfate-bundle", version: 1, collected: "2026-01-01T00:00:00Z", entries }));
    manifest([{ command: ["iptables-save", "-c"], exit: 0, file: "iptables-save.txt", bytes: readFileSync(fwRules).length }, { command: ["ip", "-j", "addr"], exit: 1, error: "boom" }]);
    const r = await run(["trace", "--bundle", d, PACKET]);
    expect(r.code).toBe(0);
    expect(r.err).not.toContain("node.json");
    expect(r.err).toContain("no node facts given");
    for (const [file, why] of [["../../etc/passwd", "which is not a bundle file"], ["stray.fifo", "which is not a bundle file"]] as const) {
      manifest([{ command: ["cat"], exit: 0, file }]);
      const b = await run(["trace", "--bundle", d, PACKET]);
      expect(b.code).toBe(2);
      expect(b.err).toContain(why);
    }
    writeFileSync(join(d, MANIFEST), "not json");
    expect((await run(["trace", "--bundle", d, PACKET])).err).toMatch(/^netfate: --bundle .*: manifest\.json is not JSON/);
  });
});

describe("flags that ask for unbounded work are refused", () => {
  it("diff --random, --max and --seed have upper bounds", async () => {
    for (const [flag, v] of [["--random", "1000000000000"], ["--max", "99999999"], ["--seed", "99999999999"]] as const) {
      const r = await run(["diff", flag, v, fwRules, fwRules]);
      expect(r.code, flag).toBe(2);
      expect(r.err).toMatch(new RegExp(`^netfate: ${flag} is at most \\d+, not ${v}\\n$`));
    }
  });
});

describe("stdin is read once", () => {
  it("a second - is refused, whichever flags ask for it", async () => {
    for (const argv of [
      ["trace", "--rules", "-", "--rules", "-", PACKET],
      ["trace", "--rules", "-", "--node", "-", PACKET],
      ["why-dropped", "--rules", fwRules, "--node", "-", "--ipsets", "-", PACKET],
      ["batch", "--rules", "-", "--packets", "-"],
      ["batch", "--rules", "-", "-"],
      ["parse", "-", "-"],
      ["diff", "-", "-"],
      ["diff", "-", fwRules, "--node", "-"],
    ]) {
      const r = await run(argv, readFileSync(fwRules, "utf8"));
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err).toMatch(/^netfate: stdin can be read only once, but .+ and .+ both ask for it: save one of them to a file\n$/);
    }
    expect((await run(["trace", "-q", "--rules", "-", "--node", fwNode, PACKET], readFileSync(fwRules, "utf8"))).code).toBe(1 - 1);
  });
});

describe("output that cannot be written", () => {
  it("the reader leaving ends the command quietly with 141, also for why-dropped (never its 0 or 1)", async () => {
    const closed = fakeIO("", () => {
      throw new OutputClosed("output closed");
    });
    expect(await main(["why-dropped", "-q", ...fw, PACKET], closed.io)).toBe(141);
    expect(closed.err()).toBe("");
    const full = fakeIO("", () => {
      throw new OutputFailed("ENOSPC");
    });
    expect(await main(["batch", "-q", ...fw, "--packets", fwRules], full.io)).toBe(2);
    expect(full.err()).toBe("netfate: cannot write the output: ENOSPC\n");
  });

  it("the real binary: a closed pipe is exit 141 with nothing on stderr", async () => {
    const packets = join(dir, "packets.txt");
    writeFileSync(packets, `${PACKET}\n`.repeat(2000));
    for (const args of [["batch", "-q", ...fw, "--packets", packets], ["why-dropped", "-q", ...fw, PACKET], ["trace", "-q", ...fw, PACKET]]) {
      const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      // Closed before the process has started: its first write meets EPIPE.
      child.stdout.destroy();
      let err = "";
      child.stderr.on("data", (d) => (err += d));
      const code = await new Promise<number | null>((res) => child.on("close", (c) => res(c)));
      expect(code, args[0]).toBe(141);
      expect(err).toBe("");
    }
  });

  it("the real binary: > /dev/full is one line and exit 2", () => {
    const full = openSync("/dev/full", "w");
    try {
      for (const args of [["trace", "-q", ...fw, PACKET], ["why-dropped", "-q", ...fw, PACKET], ["parse", fwRules, "-q"]]) {
        const r = spawnSync(process.execPath, [bin, ...args], { stdio: ["ignore", full, "pipe"], encoding: "utf8" });
        expect(r.status, args[0]).toBe(2);
        expect(r.stderr).toBe("netfate: cannot write the output: ENOSPC\n");
      }
    } finally {
      closeSync(full);
    }
  });
});

describe("stdout is for results", () => {
  it("netfate without a command prints its usage on stderr (exit 2); --help on stdout (exit 0)", async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/^usage: netfate COMMAND/);
    const h = await run(["--help"]);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^usage: netfate COMMAND/);
    expect(h.err).toBe("");
  });

  it("collect prints its kubectl recipe with --help, and refuses a missing or second DIR", async () => {
    const h = await run(["collect", "--help"]);
    expect(h.code).toBe(0);
    expect(h.out).toContain("kubectl debug node/NODE");
    expect(h.out).toContain("iptables-save -c > iptables-save.txt");
    expect((await run(["collect"])).err).toBe("netfate: collect needs one DIR to write into (got 0 arguments)\n");
    expect((await run(["collect", "a", "b"])).code).toBe(2);
  });

  it("an unknown command that is a property of every object is still an unknown command", async () => {
    for (const cmd of ["constructor", "__proto__", "toString"]) {
      const r = await run([cmd]);
      expect(r.code, cmd).toBe(2);
      expect(r.err).toBe(`netfate: unknown command ${cmd}\n`);
    }
  });

  it("diff: a dump's problems are notes on stderr, silenced by -q, never in the result", async () => {
    const a = join(dir, "problem-old.save");
    const b = join(dir, "problem-new.save");
    // A jump loop: a problem of the dump the evaluator notes at load time (not a parse error).
    writeFileSync(a, "*filter\n:INPUT ACCEPT [0:0]\n:LOOP - [0:0]\n-A INPUT -p tcp -m tcp --dport 23 -j LOOP\n-A LOOP -j LOOP\n-A INPUT -p tcp -m tcp --dport 22 -j DROP\nCOMMIT\n");
    writeFileSync(b, "*filter\n:INPUT ACCEPT [0:0]\n:LOOP - [0:0]\n-A INPUT -p tcp -m tcp --dport 23 -j LOOP\n-A LOOP -j LOOP\nCOMMIT\n");
    const loud = await run(["diff", "--random", "20", "--limit", "1", "--stacked", a, b, "--node", fwNode]);
    expect(loud.code).toBe(1);
    expect(loud.out).not.toContain("note:");
    expect(loud.err).toMatch(/note: old \(.*problem-old\.save\): filter LOOP: jump loop: LOOP → LOOP\n/);
    const quiet = await run(["diff", "-q", "--random", "20", "--limit", "1", a, b, "--node", fwNode]);
    expect(quiet.code).toBe(1);
    expect(quiet.out).not.toContain("note:");
    expect(quiet.err).toBe("");
  });
});
