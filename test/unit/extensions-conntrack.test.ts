/** -m conntrack: save and -L print the same options (one function), and the packets diff tries for --ctstate. */
import { describe, expect, it } from "vitest";
import { printed } from "../support/extension-roundtrip.js";
import { dropDifferences } from "../support/extension-hooks.js";

describe("-m conntrack", () => {
  it("prints every option in the same order in save and -L, with and without dashes", () => {
    const p = printed("-m conntrack ! --ctstate NEW,DNAT --ctproto 6 --ctorigdst 10.0.0.1 --ctrepldst 10.0.0.0/8 ! --ctorigdstport 80:90 --ctstatus ASSURED --ctexpire 5:10 --ctdir REPLY", "conntrack");
    const opts = " ! --ctstate NEW,DNAT --ctproto 6 --ctorigdst 10.0.0.1 --ctrepldst 10.0.0.0/8 ! --ctorigdstport 80:90 --ctstatus ASSURED --ctexpire 5:10 --ctdir REPLY";
    expect(p.save).toBe(` -m conntrack${opts}`);
    expect(p.nL.endsWith(opts.replaceAll("--", ""))).toBe(true);
  });
  it("diff tries a packet of an established connection for --ctstate ESTABLISHED (not when NEW is accepted too)", () => {
    const d = dropDifferences("-m conntrack --ctstate RELATED,ESTABLISHED");
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((p) => p.state === "established")).toBe(true);
    expect(dropDifferences("-m conntrack --ctstate NEW,ESTABLISHED").some((p) => p.state === "established")).toBe(false);
  });
});
