import { type Browser, chromium, type Page } from "playwright-core";

/** Debian's Chromium, never a downloaded browser; flags that keep it off every network but ours. */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  const browser = await chromium.launch({
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
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => {
    const context = await newContext(options);
    context.on("page", retryNetworkChange);
    return context;
  };
  return browser;
}

/**
 * Other test files make engine networks meanwhile (bridges, namespaces); Chromium sees the host's
 * interfaces change and aborts a navigation under way with ERR_NETWORK_CHANGED, which says
 * nothing of the panel: that navigation is made again, a few times at most. Chromium commits its
 * own error page just after the abort, and a navigation started at once is interrupted by it (seen
 * in a full run): each new try waits for that page first.
 */
function retryNetworkChange(page: Page): void {
  const goto = page.goto.bind(page);
  const networkChanged = (err: unknown) =>
    /ERR_NETWORK_CHANGED|interrupted by another navigation to "chrome-error:/.test(String(err));
  page.goto = async (url, options) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await goto(url, options);
      } catch (err) {
        if (attempt >= 3 || !networkChanged(err)) throw err;
        await page.waitForLoadState("load", { timeout: 5_000 }).catch(() => {});
        await page.waitForTimeout(250);
      }
    }
  };
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
