/** ipset AST → `ipset save` text (and `ipset list` blocks). */
import type { IpSet, IpSetCollection, SetOption } from "./ast.js";

function opts(o: SetOption[]): string {
  return o.map((x) => (x.value === undefined ? ` ${x.key}` : ` ${x.key} ${x.key === "comment" ? `"${x.value.replace(/"/g, '\\"')}"` : x.value}`)).join("");
}

export function ipsetSaveText(c: IpSetCollection): string {
  let s = "";
  for (const set of c.sets) {
    s += `create ${set.name} ${set.type}${opts(set.options)}\n`;
    for (const e of set.entries) s += `add ${set.name} ${e.text}${opts(e.options)}\n`;
  }
  return s;
}

export function ipsetListBlock(set: IpSet): string {
  const info = set.listInfo ?? {};
  let s = `Name: ${set.name}\nType: ${set.type}\n`;
  if (info.Revision) s += `Revision: ${info.Revision}\n`;
  s += `Header:${opts(set.options)}\n`;
  if (info["Size in memory"]) s += `Size in memory: ${info["Size in memory"]}\n`;
  if (info.References) s += `References: ${info.References}\n`;
  s += `Number of entries: ${set.entries.length}\nMembers:\n`;
  for (const e of set.entries) s += `${e.text}${opts(e.options)}\n`;
  return s;
}

export function ipsetListText(c: IpSetCollection): string {
  return c.sets.map(ipsetListBlock).join("\n");
}
