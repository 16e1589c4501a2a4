/**
 * A stateful object's JSON fields as the lines of its block in `nft list ruleset` (nft 1.0.6),
 * which is how the AST keeps an object's properties (`NftObject.props`, as the text reader
 * reads them: one per line, its first word the key, the rest the value; a counter's packets
 * and bytes as numbers). Checked against 1.0.6's listings of the same objects in a netns
 * (test/kernel/nft-json.test.ts prints what this reads and compares).
 */
import type { JsonField, JsonNode } from "../../facts/located-json.js";
import type { NftObject, NftObjectType } from "../../model/nft.js";
import { BYTE_UNITS, printDuration } from "../datatypes.js";

type Props = NftObject["props"];

/** The byte units nft prints, each 1024 times the one before (src/statement.c, get_rate). */
const PRINTED_UNITS = ["bytes", "kbytes", "mbytes"] as const;

/** A byte count as nft prints it: in the largest unit that divides it, up to mbytes. */
export function byteRate(bytes: number): string {
  let v = bytes;
  let i = 0;
  while (v !== 0 && i < PRINTED_UNITS.length - 1 && v % 1024 === 0) (v /= 1024), i++;
  return `${v} ${PRINTED_UNITS[i]}`;
}

/** A count given in a unit, in bytes (undefined: a unit nft does not have). */
export function inBytes(value: number, unit: string | undefined): number | undefined {
  const per = unit === undefined ? 1 : BYTE_UNITS[unit];
  return per === undefined ? undefined : value * per;
}

/** A listing line as a property: its first word, and the rest. */
function line(text: string): Props[number] {
  const sp = text.indexOf(" ");
  return sp < 0 ? { key: text, value: "" } : { key: text.slice(0, sp), value: text.slice(sp + 1) };
}

function scalar(f: Map<string, JsonField>, key: string): string | number | undefined {
  const v = f.get(key)?.value;
  return v && (v.kind === "string" || v.kind === "number") ? v.value : undefined;
}

function num(f: Map<string, JsonField>, key: string): number {
  const v = f.get(key)?.value;
  return v?.kind === "number" ? v.value : 0;
}

function words(n: JsonNode | undefined): string[] {
  if (!n) return [];
  if (n.kind === "string") return [n.value];
  if (n.kind === "array") return n.items.flatMap((i) => (i.kind === "string" ? [i.value] : []));
  return [];
}

/** The properties of an object of `type` from its JSON fields; undefined for what has none to say. */
export function objectProps(type: NftObjectType, f: Map<string, JsonField>): Props {
  const yes = (key: string) => f.get(key)?.value.kind === "boolean" && (f.get(key)!.value as { value: boolean }).value;
  switch (type) {
    case "counter":
      return [
        { key: "packets", value: num(f, "packets") },
        { key: "bytes", value: num(f, "bytes") },
      ];
    case "quota": {
      const used = num(f, "used");
      return [line(`${yes("inv") ? "over " : ""}${byteRate(num(f, "bytes"))}${used ? ` used ${byteRate(used)}` : ""}`)];
    }
    case "limit": {
      const unit = scalar(f, "rate_unit");
      const burst = num(f, "burst");
      const over = yes("inv") ? "over " : "";
      // A packet limit's default burst (5) is left out, as nft leaves it out.
      if (unit === undefined || unit === "packets") return [line(`rate ${over}${num(f, "rate")}/${scalar(f, "per") ?? "second"}${burst && burst !== 5 ? ` burst ${burst} packets` : ""}`)];
      return [line(`rate ${over}${num(f, "rate")} ${unit}/${scalar(f, "per") ?? "second"}${burst ? ` burst ${burst} ${scalar(f, "burst_unit") ?? "bytes"}` : ""}`)];
    }
    case "ct helper":
      return [line(`type "${scalar(f, "type") ?? ""}" protocol ${scalar(f, "protocol") ?? ""}`), line(`l3proto ${scalar(f, "l3proto") ?? ""}`)];
    case "ct timeout": {
      const policy = f.get("policy")?.value;
      const states = policy?.kind === "object" ? [...policy.fields.values()].map((p) => `${p.key} : ${p.value.kind === "number" ? p.value.value : "?"}`) : [];
      return [line(`protocol ${scalar(f, "protocol") ?? ""}`), line(`l3proto ${scalar(f, "l3proto") ?? ""}`), line(`policy = { ${states.join(", ")} }`)];
    }
    case "ct expectation":
      // Its timeout is in milliseconds in JSON (unlike a set's, in seconds).
      return [
        line(`protocol ${scalar(f, "protocol") ?? ""}`),
        line(`dport ${num(f, "dport")}`),
        line(`timeout ${printDuration(num(f, "timeout"))}`),
        line(`size ${num(f, "size")}`),
        line(`l3proto ${scalar(f, "l3proto") ?? ""}`),
      ];
    case "secmark":
      return [{ key: "", value: `"${scalar(f, "context") ?? ""}"` }];
    case "synproxy": {
      const out: Props = [];
      if (f.has("mss")) out.push(line(`mss ${num(f, "mss")}`));
      if (f.has("wscale")) out.push(line(`wscale ${num(f, "wscale")}`));
      const flags = words(f.get("flags")?.value);
      if (flags.length) out.push(line(flags.join(" ")));
      return out;
    }
  }
}
