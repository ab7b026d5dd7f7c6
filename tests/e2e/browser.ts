import { type Browser, chromium, type Page } from "playwright-core";

/** Debian's Chromium, never a downloaded browser; flags that keep it off every network but ours. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      ...extraArgs,
    ],
  });
}

/** A page in a fresh context that takes the panel's self-signed certificate, at desktop size. */
export async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 900 },
  });
  return context.newPage();
}

/**
 * Collects what went wrong in the page: uncaught errors and CSP violations (Chromium reports those
 * on the console), and with `consoleErrors` every console error too.
 */
export function watchProblems(page: Page, problems: string[], consoleErrors = true): void {
  page.on("console", (m) => {
    if ((consoleErrors && m.type() === "error") || /content security policy/i.test(m.text()))
      problems.push(m.text());
  });
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
}

/** Fills the login (or setup) form and sends it. */
export async function logIn(page: Page, username: string, password: string): Promise<void> {
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  await page.locator('button[type="submit"]').click();
}
