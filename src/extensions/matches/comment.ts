/** `-m comment --comment TEXT`: never changes a verdict, but names kube-proxy's services. */
import type { MatchExtension } from "../types.js";
import { quote } from "../util.js";

export interface CommentData {
  comment: string;
}

export const comment: MatchExtension<CommentData> = {
  type: "match",
  name: "comment",
  reads: () => [],
  printPrefixes: ["/*"],
  options: [{ flags: ["--comment"], args: 1 }],
  parse(options, ctx, span) {
    const o = options.find((x) => x.flag === "--comment");
    if (!o) {
      ctx.error(span, "comment: --comment is required", "--comment TEXT");
      return undefined;
    }
    const text = o.values[0] ?? "";
    // The kernel keeps 255 bytes (XT_MAX_COMMENT_LEN 256 with its NUL). iptables 1.8.9 does
    // not refuse a longer one: both backends keep its first 255 bytes (checked in a netns,
    // test/kernel/restore-refusals.test.ts), so the rule is kept, with the comment as stored.
    const utf8 = text.length > 63 ? new TextEncoder().encode(text) : undefined;
    if (utf8 && utf8.length > 255) {
      // A character cut in two by the 255th byte is left out rather than shown broken.
      const kept = new TextDecoder().decode(utf8.subarray(0, 255)).replace(/\uFFFD$/, "");
      ctx.warning(o.span, `comment: longer than 255 bytes (${utf8.length}); iptables keeps only its first 255`);
      return { comment: kept };
    }
    return { comment: text };
  },
  save(d) {
    return ` --comment ${quote(d.comment)}`;
  },
  print(d) {
    return ` /* ${d.comment} */`;
  },
  alwaysMatches: true,
  evaluate() {
    return true;
  },
  parsePrint(s) {
    if (!s.startsWith("/* ")) return undefined;
    s.skipSpaces();
    const start = s.pos + 3;
    // The comment text is printed raw, so it may itself contain " */"; take the first
    // " */" that ends the column or is followed by a space.
    let end = s.text.indexOf(" */", start - 1);
    while (end >= 0) {
      const after = end + 3;
      if (after >= s.text.length || s.text.charCodeAt(after) === 32) break;
      end = s.text.indexOf(" */", end + 1);
    }
    if (end < 0) return undefined;
    const text = s.text.slice(start, end);
    s.pos = end + 3;
    return { comment: text };
  },
};
