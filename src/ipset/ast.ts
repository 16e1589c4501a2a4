/** ipsets as `ipset save` and `ipset list` describe them. */
import type { Family } from "../model/ast.js";
import type { Span } from "../model/span.js";

/** A header or entry option as written (`hashsize 1024`, `counters`, `comment "x"`), kept in order. */
export interface SetOption {
  key: string;
  value?: string;
}

export interface SetEntry {
  /** The element as ipset prints it: `10.0.0.0/24,tcp:22`. */
  text: string;
  nomatch: boolean;
  options: SetOption[];
  span: Span;
}

export interface IpSet {
  name: string;
  /** `hash:ip`, `hash:net,port`, `bitmap:port`, `list:set`, ... */
  type: string;
  family: Family;
  options: SetOption[];
  entries: SetEntry[];
  /** `Revision:`, `References:` and the like from `ipset list`, when read from one. */
  listInfo?: Record<string, string>;
  span: Span;
}

export interface IpSetCollection {
  sets: IpSet[];
}
