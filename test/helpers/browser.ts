/**
 * Headless Chromium for the dashboard's tests and benchmark: Debian's `chromium`
 * driven by playwright-core, with a fresh profile and everything that would reach
 * the internet switched off (updates, sync, background requests, QUIC).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function noBrowser(): string | undefined {
  return existsSync(CHROMIUM)
    ? undefined
    : `${CHROMIUM} is absent: install Debian's chromium package to run the dashboard's browser tests`;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A persistent context (service workers need one) in a new temporary profile. */
export async function launchBrowser(
  opts: { width?: number; height?: number; origin?: string } = {},
): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'heru-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
  });
  if (opts.origin)
    await context.grantPermissions(['notifications'], { origin: opts.origin });
  return {
    context,
    async close() {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Waits until `condition` (JavaScript text, evaluated in the page on each change of
 * the document) is true, and resolves with the page's `performance.now()` then.
 * Playwright's waitForFunction evaluates its text with `new Function`, which the
 * dashboard's Content-Security-Policy rightly forbids; this runs as one script.
 */
export async function waitInPage(
  page: Page,
  condition: string,
  timeoutMs = 20_000,
): Promise<number> {
  return page.evaluate<number>(`new Promise((resolve, reject) => {
    const check = () => {
      if (!(${condition})) return false;
      resolve(performance.now());
      return true;
    };
    if (check()) return;
    const watch = new MutationObserver(() => check() && watch.disconnect());
    watch.observe(document, { subtree: true, childList: true, attributes: true });
    setTimeout(() => {
      watch.disconnect();
      reject(new Error('timed out after ${timeoutMs} ms waiting for: ' + ${JSON.stringify(condition)}));
    }, ${timeoutMs});
  })`);
}
