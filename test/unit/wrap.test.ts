/** The 80-column wrapping of rule texts in the text explanations. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { wrap } from "../../src/explain/text.js";

const word = fc.oneof(
  fc.constantFrom("-A", "-m", "-j", "-s", "!", "--dport", "--comment", "--to-destination", "tcp", "KUBE-SVC-TCOU7JCQXEZGVUNU", "10.0.0.0/8"),
  fc.string({ minLength: 1, maxLength: 12 }).map((s) => `"${s.replace(/["\\\s]/g, "x")} ${s.replace(/["\\\s]/g, "y")}"`),
);

describe("wrap", () => {
  it("keeps a kube-proxy rule whole per option and its comment unbroken", () => {
    const rule = '-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU';
    expect(wrap(rule, 80, "      ")).toEqual([
      "      -A KUBE-SERVICES -d 10.96.0.10/32 -p udp",
      '          -m comment --comment "kube-system/kube-dns:dns cluster IP"',
      "          -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU",
    ]);
  });

  it("loses nothing, breaks no quote, and stays within the width unless one piece cannot", () => {
    fc.assert(fc.property(fc.array(word, { minLength: 1, maxLength: 30 }), fc.integer({ min: 30, max: 120 }), (words, width) => {
      const text = words.join(" ");
      const lines = wrap(text, width, "    ");
      expect(lines.map((l) => l.trim()).join(" ")).toBe(text);
      for (const l of lines) {
        expect((l.match(/"/g) ?? []).length % 2).toBe(0);
        // Longer than the width only when it is one piece: a single option and its values.
        if (l.length > width) {
          const ws = l.trim().match(/(?:"[^"]*"|[^\s"]+)+/g)!;
          const rest = ws.slice(ws[0] === "!" ? 2 : 1);
          expect(rest.filter((w) => w.startsWith("-"))).toEqual([]);
        }
      }
    }));
  });
});
