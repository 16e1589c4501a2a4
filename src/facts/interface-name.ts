/**
 * Network device names as the kernel takes them (dev_valid_name in net/core/dev.c): 1 to
 * IFNAMSIZ-1 = 15 bytes, not "." or "..", and no "/", ":" or whitespace. A packet's
 * interface and every interface in node facts must be one.
 */

const encoder = new TextEncoder();

/** Why `name` cannot name a network device, or undefined when it can. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name === "") return "an interface name cannot be empty";
  const bytes = encoder.encode(name).length;
  if (bytes > 15) return `interface name ${JSON.stringify(name)} is ${bytes} bytes long; the kernel allows at most 15 (IFNAMSIZ-1)`;
  if (name === "." || name === "..") return `${JSON.stringify(name)} cannot be an interface name`;
  if (/[/:\s]/.test(name)) return `interface name ${JSON.stringify(name)} contains ${JSON.stringify(/[/:\s]/.exec(name)![0])}, which the kernel does not allow`;
  return undefined;
}
