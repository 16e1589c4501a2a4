/**
 * `netfate serve` (src/cli/serve/): a command sent to a running server answers as the same
 * command run by itself does — stdout, stderr and exit code, byte for byte — the first time and
 * again from the nodes the server keeps; it reads the client's stdin and working directory; a
 * client that stops reading stops the command and the server goes on; a dump changed on disk
 * is read again; without a server the command says so and answers by itself. The shipped bundle
 * is what runs (`npm run build` first, as every test that runs the CLI).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const cli = join(root, "dist", "netfate.mjs");
const dir = mkdtempSync(join(tmpdir(), "netfate-serve-"));
const socket = join(dir, "netfate.sock");

function run(args: string[], opts: { server?: string; input?: string; cwd?: string } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, NETFATE_CACHE: "" };
  if (opts.server) env.NETFATE_SERVER = opts.server;
  else delete env.NETFATE_SERVER;
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: opts.cwd ?? root, encoding: "utf8", input: opts.input ?? "", maxBuffer: 256 << 20, env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The same command by itself and through the server, twice (the second from what the server kept). */
function expectSameThroughServer(args: string[], input?: string): void {
  const alone = run(args, { input });
  for (let k = 0; k < 2; k++) expect(run(args, { server: socket, input }), `${args.join(" ")} (${k ? "again" : "first"})`).toEqual(alone);
}

function startServer(path: string, extra: string[] = []): Promise<{ child: ChildProcess; said: string }> {
  const child = spawn(process.execPath, [cli, "serve", "--socket", path, ...extra], { cwd: root, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NETFATE_SERVER: "" } });
  return new Promise((ok, fail) => {
    let said = "";
    child.stderr!.on("data", (b: Buffer) => {
      said += b.toString();
      if (said.includes("answering at")) ok({ child, said });
    });
    child.once("exit", (code) => fail(new Error(`serve exited ${code}: ${said}`)));
  });
}

let server: ChildProcess;

beforeAll(async () => {
  server = (await startServer(socket)).child;
});

afterAll(() => {
  server?.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

const s = (...p: string[]) => join("samples", ...p);
const kube = ["--rules", s("kube-proxy-basic/rules.save"), "--node", s("kube-proxy-basic/node.json")];

describe("a command through the server answers as it does alone", () => {
  it("why-dropped and trace on the samples (iptables, nftables, both on one node, ipsets and IPVS)", () => {
    const cases: [string[], string][] = [
      [kube, "tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0"],
      [["--rules", s("host-firewall/rules.save"), "--node", s("host-firewall/node.json")], "tcp 203.0.113.9:40000 -> 192.168.1.10:22 in eth0"],
      [["--rules", s("006-kube-proxy-nftables/ruleset.nft"), "--node", s("006-kube-proxy-nftables/node.json")], "tcp 192.168.0.50:40000 -> 10.96.0.10:80 in eth0"],
      [["--rules", s("009-iptables-nft-mixed/iptables.save"), "--rules", s("009-iptables-nft-mixed/ruleset.nft"), "--node", s("009-iptables-nft-mixed/node.json")], "tcp 192.168.0.50:40000 -> 10.0.0.5:22 in eth0"],
      [["--rules", s("000-calico-ipip-ipvs-policy/filter.save"), "--rules", s("000-calico-ipip-ipvs-policy/nat.save"), "--ipsets", s("000-calico-ipip-ipvs-policy/ipsets.save"), "--node", s("000-calico-ipip-ipvs-policy/node.json"), "--ipvs", s("000-calico-ipip-ipvs-policy/ipvsadm.txt")], "tcp 10.65.0.5:40000 -> 10.96.0.10:53 in cali1234"],
    ];
    for (const [inputs, packet] of cases) {
      expectSameThroughServer(["why-dropped", ...inputs, packet]);
      expectSameThroughServer(["trace", ...inputs, "--format", "json", packet]);
    }
  });

  it("usage errors, unreadable files and a bad packet, with their exit codes", () => {
    expectSameThroughServer(["why-dropped", "--bogus"]);
    expectSameThroughServer(["why-dropped", "--rules", "no/such/file.save", "tcp 1.2.3.4:1 -> 5.6.7.8:80 in eth0"]);
    expectSameThroughServer(["why-dropped", ...kube, "tcp 1.2.3.4:1 -> 5.6.7.8:80"]);
    expectSameThroughServer(["nosuchcommand"]);
  });

  it("reads the client's stdin when the command asks for it, and only then", () => {
    const packets = (JSON.parse(readFileSync(join(root, s("kube-proxy-basic/packets.json")), "utf8")) as { packet: string }[]).map((p) => p.packet).join("\n") + "\n";
    expectSameThroughServer(["batch", ...kube, "--packets", "-", "--fields", "fate,final,rule,probability"], packets);
    expectSameThroughServer(["parse", "--summary", "-"], readFileSync(join(root, s("kube-proxy-basic/rules.save")), "utf8"));
    // stdin given but not asked for is not read.
    expectSameThroughServer(["why-dropped", ...kube, "tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0"], "not a packet\n");
  });

  it("names files from the client's working directory", () => {
    const here = join(root, "samples", "kube-proxy-basic");
    const args = ["why-dropped", "--rules", "rules.save", "--node", "node.json", "tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0"];
    const alone = run(args, { cwd: here });
    expect(alone.code).toBe(0);
    expect(run(args, { server: socket, cwd: here })).toEqual(alone);
  });

  it("streams a large output whole (a full trace of 2,000 packets)", () => {
    const packets = Array.from({ length: 2000 }, (_, i) => `tcp 192.168.${1 + (i % 200)}.${1 + (i % 250)}:${1024 + i} -> 10.96.45.12:80 in eth0`).join("\n") + "\n";
    const file = join(dir, "many.txt");
    writeFileSync(file, packets);
    const args = ["batch", ...kube, "--packets", file, "--jobs", "1"];
    const alone = run(args);
    expect(alone.out.length).toBeGreaterThan(4 << 20);
    expect(run(args, { server: socket })).toEqual(alone);
  });
});

describe("the server's own behaviour", () => {
  it("a client that stops reading stops its command, as a closed pipe does, and the server answers the next", () => {
    const file = join(dir, "many.txt");
    const r = spawnSync("sh", ["-c", `node "${cli}" batch --rules ${s("kube-proxy-basic/rules.save")} --node ${s("kube-proxy-basic/node.json")} --packets "${file}" --jobs 1 | head -c 100 >/dev/null; echo "\${PIPESTATUS:-}"`], { cwd: root, encoding: "utf8", env: { ...process.env, NETFATE_SERVER: socket } });
    expect(r.status).toBe(0);
    expectSameThroughServer(["why-dropped", ...kube, "tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0"]);
  });

  it("answers clients that come at once, each its own answer", async () => {
    const packets = ["tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0", "udp 10.244.0.5:40000 -> 10.96.0.10:53 in cni0", "tcp 203.0.113.9:1234 -> 192.168.0.11:22 in eth0"];
    const want = packets.map((p) => run(["why-dropped", ...kube, p]));
    const got = await Promise.all(
      packets.map(
        (p) =>
          new Promise<{ code: number | null; out: string; err: string }>((ok) => {
            const c = spawn(process.execPath, [cli, "why-dropped", ...kube, p], { cwd: root, env: { ...process.env, NETFATE_SERVER: socket, NETFATE_CACHE: "" } });
            let out = "", err = "";
            c.stdout.on("data", (b: Buffer) => (out += b.toString()));
            c.stderr.on("data", (b: Buffer) => (err += b.toString()));
            c.on("close", (code) => ok({ code, out, err }));
          }),
      ),
    );
    expect(got).toEqual(want);
  });

  it("reads a dump again once it changed on disk", async () => {
    const work = mkdtempSync(join(dir, "edit-"));
    const rules = join(work, "rules.save");
    const base = readFileSync(join(root, s("host-firewall/rules.save")), "utf8");
    writeFileSync(rules, base);
    // Kept only once its identity is settled (3 s: cli/cache-identity.ts): wait that long.
    await new Promise((ok) => setTimeout(ok, 3500));
    const args = ["why-dropped", "--rules", rules, "--node", s("host-firewall/node.json"), "tcp 203.0.113.9:40000 -> 192.168.0.11:80 in eth0"];
    const before = run(args, { server: socket });
    expect(run(args, { server: socket })).toEqual(before);
    // Same size, same modification time: only the change time tells (as it always does).
    const mtime = statSync(rules).mtime;
    const edited = base.replace("--dports 80,443", "--dports 81,443");
    expect(edited).not.toBe(base);
    expect(edited.length).toBe(base.length);
    writeFileSync(rules, edited);
    utimesSync(rules, mtime, mtime);
    const after = run(args, { server: socket });
    expect(after).toEqual(run(args));
    expect(after.out).not.toBe(before.out);
  });

  it("without a server, says so and answers by itself", () => {
    const args = ["why-dropped", ...kube, "tcp 192.168.0.50:40000 -> 10.96.45.12:80 in eth0"];
    const alone = run(args);
    const r = run(args, { server: join(dir, "nobody.sock") });
    expect(r.out).toBe(alone.out);
    expect(r.code).toBe(alone.code);
    expect(r.err).toContain("no netfate server answers at");
  });

  it("one server a socket; a stale socket is cleared; a file that is not a socket is refused; only the owner may connect", async () => {
    expect(statSync(socket).mode & 0o077).toBe(0);
    const second = run(["serve", "--socket", socket]);
    expect(second.code).toBe(2);
    expect(second.err).toContain("already answers");
    const notSocket = join(dir, "plain");
    writeFileSync(notSocket, "");
    chmodSync(notSocket, 0o600);
    expect(run(["serve", "--socket", notSocket]).err).toContain("is not a socket");
    // A server killed without cleaning up leaves its socket: the next one takes the path.
    const other = join(dir, "other.sock");
    const first = await startServer(other);
    first.child.kill("SIGKILL");
    await new Promise((ok) => first.child.once("exit", ok));
    const next = await startServer(other, ["--idle-minutes", "0"]);
    expect(run(["why-dropped", "--bogus"], { server: other }).code).toBe(2);
    next.child.kill("SIGTERM");
    await new Promise((ok) => next.child.once("exit", ok));
    expect(() => statSync(other)).toThrow();
  });
});
