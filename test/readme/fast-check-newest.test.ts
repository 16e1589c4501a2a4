/**
 * The README's regression-test example type-checks in a user's project whose fast-check is
 * newer than ours. When netfate pinned fast-check in its dependencies, npm gave it a copy of
 * its own, and tsc refused `fc.property(fromOutside, ...)`: an Arbitrary of one copy is not
 * one of the other. netfate is packed as npm publishes it, installed next to that fast-check
 * in a temporary project, and the example checked there with our tsc.
 *
 * Needs the npm registry (CI has it); elsewhere, without it, the test is skipped with the reason.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/** The newest release when this was written (`npm view fast-check version`); NETFATE_FAST_CHECK=latest tries today's. */
const FAST_CHECK = process.env.NETFATE_FAST_CHECK ?? "4.11.0";

const root = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "netfate-fast-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 240_000 });
const output = (r: SpawnSyncReturns<string>) => `${r.error ?? ""}${r.stdout}${r.stderr}`;

describe(`the README example with fast-check ${FAST_CHECK}`, () => {
  it("type-checks against one shared fast-check", (ctx) => {
    expect(existsSync(join(root, "dist/src/testing/index.d.ts")), "build first (npm run build)").toBe(true);
    const view = run("npm", ["view", "--prefer-offline", `fast-check@${FAST_CHECK}`, "version"], dir);
    if (view.status !== 0 && !process.env.CI) {
      ctx.skip(`the npm registry does not answer: ${output(view).split("\n").find((l) => l.startsWith("npm error")) ?? output(view)}`);
    }
    expect(view.status, output(view)).toBe(0);
    const pack = run("npm", ["pack", "--ignore-scripts", "--pack-destination", dir], root);
    expect(pack.status, output(pack)).toBe(0);
    const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"))!;
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "a-users-project", private: true, type: "module" }));
    const install = run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline", `./${tarball}`, `fast-check@${FAST_CHECK}`], dir);
    expect(install.status, output(install)).toBe(0);

    const installed = (p: string) => JSON.parse(readFileSync(join(dir, "node_modules", p, "package.json"), "utf8")).version;
    if (FAST_CHECK !== "latest") expect(installed("fast-check")).toBe(FAST_CHECK);
    expect(existsSync(join(dir, "node_modules/netfate/node_modules/fast-check")), "netfate got a fast-check of its own").toBe(false);

    // The user's own vitest; ours will do (the example only needs its types).
    symlinkSync(join(root, "node_modules/vitest"), join(dir, "node_modules/vitest"), "dir");
    copyFileSync(join(root, "test/readme/nodeport-only.test.ts"), join(dir, "example.test.ts"));
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true, types: [] },
      files: ["example.test.ts"],
    }));
    const tsc = run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", dir], dir);
    expect(output(tsc)).toBe("");
    expect(tsc.status).toBe(0);
  }, 300_000);
});
