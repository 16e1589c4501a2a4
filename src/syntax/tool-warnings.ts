/**
 * What iptables-nft itself warns about at the top of its output. When the legacy backend also
 * holds tables, `iptables-nft-save` and `iptables-nft -L` print
 * `# Warning: iptables-legacy tables present, use iptables-legacy-save to see them`: the
 * kernel runs those rules too, and the dump does not show them. A trace of such a dump alone
 * can be wrong (the classic kube-proxy / CNI backend mismatch), so netfate says so, where the
 * line is.
 */
const LEGACY_PRESENT = /^\s*#\s*Warning:\s*iptables-legacy tables present/;

/** iptables-nft's own warning line (`# Warning: ...`), which a listing may start with too. */
export function isToolWarning(line: string): boolean {
  return /^\s*#\s*Warning:/.test(line);
}

/** What to tell the user about one of the tool's warning lines, if it matters to a trace. */
export function toolWarningMessage(line: string): string | undefined {
  if (!LEGACY_PRESENT.test(line)) return undefined;
  // Given with the iptables-legacy-save dump too, both backends are run (syntax/merge.ts keeps
  // them apart); the warning stays, as the reader of one dump cannot know the other was given.
  return "iptables-nft says iptables-legacy tables are present: the kernel runs their rules as well as these (a packet this dump accepts may still be dropped there); give iptables-legacy-save's output too, and netfate runs both";
}
