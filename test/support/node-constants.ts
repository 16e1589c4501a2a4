/**
 * Rule constants drawn mostly from one test node: its addresses and neighbours under prefixes
 * of every length (so prefix edges fall near real packets), its interface names and `+`
 * prefixes of them, the ports services use, and a handful of marks shared by `-j MARK` and
 * `-m mark` (so a later rule tests what an earlier one set). A tenth of each is still drawn
 * from anything, so rules no packet meets keep being generated too. Each condition is present
 * in a rule a quarter of the time, so rules have one or two, as they do on real nodes.
 */
import fc from "fast-check";
import { ANY_CONSTANTS, type Net4, type RuleConstants } from "../../src/testing/rulesets.js";

function masked(ip: string, prefixLength: number): Net4 {
  const n = ip.split(".").reduce((a, b) => a * 256 + Number(b), 0);
  const m = prefixLength === 0 ? 0 : (n & ((0xffffffff << (32 - prefixLength)) >>> 0)) >>> 0;
  return { address: [m >>> 24, (m >>> 16) & 255, (m >>> 8) & 255, m & 255].join("."), prefixLength, mask: null };
}

/** Mostly `near`, a tenth `any`. */
const mostly = <T>(near: fc.Arbitrary<T>, any: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary: near }, { weight: 1, arbitrary: any });

/**
 * Constants around a node with these addresses (its own and its neighbours'), interfaces and
 * ports. Interface prefixes are each name's first letter and its name without the digits.
 */
export function nodeConstants(o: { addresses: string[]; ifaces: string[]; ports: number[]; marks: number[] }): RuleConstants {
  const prefixes = [...new Set(o.ifaces.flatMap((i) => [`${i[0]}+`, `${i.replace(/[0-9]+$/, "")}+`]))];
  return {
    net: mostly(fc.tuple(fc.constantFrom(...o.addresses), fc.integer({ min: 8, max: 32 })).map(([a, p]) => masked(a, p)), ANY_CONSTANTS.net),
    iface: mostly(fc.constantFrom(...o.ifaces, ...prefixes), ANY_CONSTANTS.iface),
    port: mostly(fc.constantFrom(...o.ports), ANY_CONSTANTS.port),
    mark: mostly(fc.constantFrom(...o.marks), ANY_CONSTANTS.mark),
    markMask: mostly(fc.constantFrom(0xffffffff, 0xff00, 0x4000, 0xffff), ANY_CONSTANTS.markMask),
    // A rule with every condition present almost never matches: each is left out 3 times in 4.
    maybe: <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: a }),
    // Port conditions are what most real rules test.
    tcpBringsProtocol: true,
  };
}
