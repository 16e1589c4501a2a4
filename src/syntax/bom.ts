/**
 * A UTF-8 byte order mark some editors (Notepad, PowerShell's `Out-File`) put before a file's
 * first line. It is not part of the first line: iptables-restore would choke on it, but it is
 * no more in the dump than the file's encoding is, so every reader skips it. Columns of the
 * first line are counted without it, as editors show them.
 */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
