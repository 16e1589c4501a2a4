/**
 * The interactive page's scripts as `npm run build` bundles them (src/explore/build-browser.mjs):
 * browser code only. A `node:` import would not load in the page; the build refuses one
 * (platform "browser"), and this holds the built files to it, so that a module of the
 * evaluator that starts reading files, or the CLI creeping into the page's entry, is caught.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { jsonScriptText, scriptText } from "../../src/explore/page.js";

const DIST = resolve(import.meta.dirname, "../../dist/browser");
const FILES = ["explore-engine.js", "explore-ui.js"];

describe("the browser bundles", () => {
  for (const f of FILES) {
    it(`${f} is built and imports nothing of Node`, () => {
      const path = join(DIST, f);
      expect(existsSync(path), `${path} is missing: run npm run build`).toBe(true);
      const code = readFileSync(path, "utf8");
      // Matches are compared, not the bundle (a failure would print 700 KB).
      const found = (re: RegExp) => code.match(re)?.[0];
      // No `node:` module is imported or required, statically or dynamically.
      expect(found(/(?:from\s*|require\s*\(\s*|import\s*\(?\s*)["']node:[\w/]+["']/)).toBeUndefined();
      expect(found(/(?:require\s*\(\s*|import\s*\(\s*|from\s*)["'](?:fs|path|url|module|crypto|os|child_process)["']/)).toBeUndefined();
      // Nothing of the CLI's or of the file readers: they are the modules that touch the file system.
      for (const word of ["readFileSync", "readdirSync", "createRequire", "--max-input-size"]) expect(code.includes(word), word).toBe(false);
    });
  }

  it("ELK's layout is not in the engine (the page starts it in a worker of its own, after the node is loaded)", () => {
    const engine = readFileSync(join(DIST, "explore-engine.js"), "utf8");
    const elk = readFileSync(join(DIST, "explore-elk.js"), "utf8");
    // GWT's start-up call ends ELK's layout code: in ELK's worker script, not in the engine.
    expect(engine.includes("gwtOnLoad")).toBe(false);
    expect(elk.includes("gwtOnLoad(null, 'elk', null)")).toBe(true);
    expect(engine.length).toBeLessThan(1_200_000);
    const head = elk.slice(0, 1000);
    for (const said of ["elkjs", "Eclipse Public License 2.0", "https://github.com/kieler/elkjs"]) expect(head).toContain(said);
  });

  it("the engine says whose code it carries and under which licences (ELK's asks for it)", () => {
    const head = readFileSync(join(DIST, "explore-engine.js"), "utf8").slice(0, 1000);
    for (const said of ["elkjs", "Eclipse Public License 2.0", "https://github.com/kieler/elkjs", "chevrotain", "ipaddr.js"]) expect(head).toContain(said);
  });

  it("the page's script holds none of the engine: the DOM side stays small", () => {
    const ui = readFileSync(join(DIST, "explore-ui.js"), "utf8");
    expect(ui.length).toBeLessThan(20_000);
    expect(ui).not.toContain("iptables-save");
  });
});

describe("inline text", () => {
  it("cannot end its script element early", () => {
    expect(scriptText('x = "</script><script>alert(1)</script>"; y = "<!--"')).toBe('x = "<\\/script><script>alert(1)<\\/script>"; y = "<\\!--"');
    expect(scriptText("a = '</SCRIPT >'")).toBe("a = '<\\/SCRIPT >'");
    const json = jsonScriptText({ text: "-A X -m comment --comment \"</script><b>\" -j DROP" });
    expect(json).not.toContain("<");
    expect(JSON.parse(json)).toEqual({ text: "-A X -m comment --comment \"</script><b>\" -j DROP" });
  });
});
