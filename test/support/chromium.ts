/**
 * Debian's Chromium for the browser tests, launched headless with nothing that reaches the
 * network. `chromiumMissing` says why the tests are skipped where it is not installed; in CI a
 * skip is a failure, so there it throws instead.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export const chromiumMissing: string | undefined = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install chromium)`;
if (chromiumMissing && process.env.CI) throw new Error(`the browser test must run in CI but cannot: ${chromiumMissing}`);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
