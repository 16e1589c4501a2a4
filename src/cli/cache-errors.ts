/** A stored form that cannot be made into the result it claims to be (cli/cache-format.ts). */
export class BadEntry extends Error {}
