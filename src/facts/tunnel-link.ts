/**
 * A tunnel device's own settings as `ip -d link` (and `ip -d addr`) prints them, in text (the
 * line after `link/...`: `vxlan id 1 local 172.16.100.101 dev eth0 srcport 0 0 dstport 8472 ...`,
 * `vxlan external id 0 ...`, `ipip ipip remote any local any ...`, `wireguard ...`) and in JSON
 * (`linkinfo.info_data`: `id`, `local`/`local6`, `remote`/`remote6`, `link`, `port`, `external`).
 * Shapes from iproute2 6.1 (test/fixtures/tunnels/make-tunnels.sh; ipip's from link_iptnl.c,
 * this kernel has no ipip module).
 */
import type { FactInterface, FactTunnel } from "./model.js";
import type { JsonField } from "./located-json.js";
import type { JsonInput } from "./json-input.js";
import { interfaceNameProblem } from "./interface-name.js";
import { addressOf } from "./tunnel-tables.js";

/** Link kinds that are tunnels netfate follows, by the tunnel kind they are. */
export const TUNNEL_LINK_KINDS: Readonly<Record<string, FactTunnel["kind"]>> = { vxlan: "vxlan", ipip: "ipip", wireguard: "wireguard" };

/** Sets (or adds to) an interface's tunnel: what several inputs say of one device merges, a field given again wins. */
export function mergeTunnel(i: FactInterface, t: FactTunnel): void {
  i.tunnel = i.tunnel?.kind === t.kind ? { ...i.tunnel, ...t } : t;
}

type Problem = (word: string, message: string, expected: string) => void;

/** An endpoint word: `any` (no address) is absent. */
function endpoint(v: string, what: string, problem: Problem): string | undefined | null {
  if (v === "any") return undefined;
  const a = addressOf(v);
  if (!a) {
    problem(v, `bad ${what} address`, "an IPv4 or IPv6 address, or any");
    return null;
  }
  return a.address;
}

/**
 * The settings of the kind line of `ip -d link` text, `words` from the kind on; undefined for a
 * kind that is not a tunnel, null after reporting a bad value.
 */
export function tunnelOfLinkWords(words: readonly string[], problem: Problem): FactTunnel | undefined | null {
  const kind = TUNNEL_LINK_KINDS[words[0] ?? ""];
  if (!kind) return undefined;
  const t: FactTunnel = { kind };
  if (kind === "wireguard") return t;
  const value = (key: string) => {
    const k = words.indexOf(key, 1);
    return k > 0 ? words[k + 1] : undefined;
  };
  if (kind === "vxlan") {
    if (words.includes("external")) t.external = true;
    const id = value("id");
    if (id !== undefined) {
      if (!/^\d{1,8}$/.test(id) || Number(id) > 0xffffff) return problem(id, "bad vxlan id", "a VNI 0-16777215"), null;
      if (!t.external) t.vni = Number(id);
    }
    const port = value("dstport");
    if (port !== undefined) {
      if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return problem(port, "bad vxlan dstport", "0-65535"), null;
      // Port 0 is the kernel's default (8472): the tunnel view applies it.
      if (Number(port)) t.port = Number(port);
    }
    const dev = value("dev");
    if (dev !== undefined) {
      const bad = interfaceNameProblem(dev);
      if (bad) return problem(dev, bad, "an interface name"), null;
      t.dev = dev;
    }
  }
  for (const key of ["local", "remote"] as const) {
    const v = value(key);
    if (v === undefined) continue;
    const a = endpoint(v, `${kind} ${key}`, problem);
    if (a === null) return null;
    if (a !== undefined) t[key] = a;
  }
  return t;
}

/** The settings in `linkinfo` of `ip -j -d link`/`addr`; undefined for a kind that is not a tunnel. */
export function tunnelOfInfoData(kind: string, data: Map<string, JsonField> | undefined, name: string, j: JsonInput): FactTunnel | undefined {
  const k = TUNNEL_LINK_KINDS[kind];
  if (!k) return undefined;
  const t: FactTunnel = { kind: k };
  if (k === "wireguard" || !data) return t;
  const str = (key: string, what: string) => {
    const f = data.get(key);
    return f ? { text: j.string(f.value, `${what} of ${name}`, "a string"), at: f.value.at } : undefined;
  };
  if (k === "vxlan") {
    const ext = data.get("external");
    if (ext?.value.kind === "boolean" && ext.value.value) t.external = true;
    const id = data.get("id");
    const vni = id && j.integer(id.value, `vxlan id of ${name}`, 0, 0xffffff);
    if (vni !== undefined && !t.external) t.vni = vni;
    const port = data.get("port");
    const p = port && j.integer(port.value, `vxlan port of ${name}`, 0, 65535);
    // Port 0 is the kernel's default (8472): the tunnel view applies it.
    if (p) t.port = p;
    const link = str("link", "vxlan link");
    if (link?.text !== undefined) {
      const bad = interfaceNameProblem(link.text);
      if (bad) j.error(link.at, bad, "an interface name");
      else t.dev = link.text;
    }
  }
  for (const key of ["local", "remote"] as const) {
    const v = str(key, `${kind} ${key}`) ?? str(`${key}6`, `${kind} ${key}6`);
    if (v?.text === undefined) continue;
    const a = endpoint(v.text, `${kind} ${key}`, (_w, message, expected) => j.error(v.at, message, expected));
    if (a) t[key] = a;
  }
  return t;
}
