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
  // Not "give both dumps": rulesets given together merge by table and chain, while the kernel
  // runs each backend's chains on their own hooks, which netfate does not model.
  return "iptables-nft says iptables-legacy tables are present: the kernel runs their rules as well as these, and netfate sees only this dump's; look at them with iptables-legacy-save (a packet a trace accepts may still be dropped there)";
}
