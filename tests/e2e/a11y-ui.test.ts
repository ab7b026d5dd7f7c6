import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, runContainer, uniqueName } from "../helpers/engine.ts";
import { launchChromium } from "./browser.ts";

/** WCAG's contrast ratio of two computed CSS colours (rgb/rgba; alpha over the page's background). */
function contrastIn(page: Page, selector: string): Promise<{ ratio: number; fg: string; bg: string }> {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel);
    if (!el) throw new Error(`no ${sel}`);
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const background = (e: Element | null): number[] => {
      for (let at = e; at; at = at.parentElement) {
        const c = rgb(getComputedStyle(at).backgroundColor);
        if (c.length === 3 || (c[3] ?? 1) > 0) return c.slice(0, 3);
      }
      return rgb(getComputedStyle(document.body).backgroundColor).slice(0, 3);
    };
    const lum = ([r = 0, g = 0, b = 0]: number[]) => {
      const f = (v: number) => {
        const c = v / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const fg = rgb(getComputedStyle(el).color).slice(0, 3);
    const bg = background(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    return { ratio: (hi! + 0.05) / (lo! + 0.05), fg: fg.join(","), bg: bg.join(",") };
  }, selector);
}

// Keyboard use and contrast, in the built binary's UI, in both themes.
describe("keyboard and contrast in Chromium, from dist/ghostpanel", () => {
  let panel: BinaryPanel;
  let browser: Browser;
  let page: Page;
  const name = uniqueName("a11y");

  beforeAll(async () => {
    runContainer(name);
    panel = await startBinary(["--tls", "off"]);
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    await page.goto(panel.url);
    await page.locator('input[name="username"]').fill("admin");
    await page.locator('input[name="password"]').fill("a11y-password-123");
    await page.locator('button[type="submit"]').click();
    await page.locator(`[data-testid="container-row"][data-name="${name}"]`).waitFor({ timeout: 30_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await panel?.stop();
    cleanupEngine();
  });

  it("'/' focuses the search, and not while typing elsewhere", async () => {
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press("/");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe("search");
    await page.keyboard.type("/x");
    expect(await page.locator('[data-testid="search"]').inputValue()).toBe("/x");
    await page.locator('[data-testid="search"]').fill("");
  });

  it("arrow keys move between a container's tabs, one tab stop, the open tab in the address", async () => {
    await page.locator(`[data-testid="container-row"][data-name="${name}"] a`).click();
    const tabs = page.locator('[role="tab"]');
    await tabs.first().waitFor();
    expect(await page.locator('[role="tab"][tabindex="0"]').count()).toBe(1);
    await page.locator('[role="tab"][aria-selected="true"]').focus();
    // Focus follows the key a frame later (requestAnimationFrame), after the address has changed.
    const focused = (tab: string) =>
      page.waitForFunction((t) => document.activeElement?.getAttribute("data-tab") === t, tab, {
        timeout: 5_000,
      });
    await page.keyboard.press("ArrowRight");
    await page.waitForURL(/\/containers\/[0-9a-f]{64}\/overview$/);
    await focused("overview");
    await page.keyboard.press("ArrowRight");
    await page.waitForURL(/\/containers\/[0-9a-f]{64}\/inspect$/);
    await focused("inspect");
    await page.keyboard.press("End");
    await page.waitForURL(/\/terminal$/);
    await page.keyboard.press("Home");
    await page.waitForURL(/\/containers\/[0-9a-f]{64}$/);
    // A reload opens the same tab.
    await page.goto(`${page.url()}/stats`);
    await page.reload();
    await page.locator('[role="tab"][data-tab="stats"][aria-selected="true"]').waitFor();
  });

  // The theme chosen with the toggle (kept per user) rather than the browser's: the same bar.
  for (const theme of ["light", "dark"] as const) {
    it(`the overview, inspect tree, terminal form and theme toggle reach 4.5:1 in the chosen ${theme} theme`, async () => {
      // The browser says the other scheme: the chosen theme must win.
      await page.emulateMedia({ colorScheme: theme === "light" ? "dark" : "light" });
      await page.goto(`${panel.url}/#/envs/local/containers`);
      await page.locator('[data-testid="theme"]').selectOption(theme);
      const base = `${panel.url}/#/containers/${name}`;
      const check = async (selectors: string[]) => {
        for (const selector of selectors) {
          const { ratio, fg, bg } = await contrastIn(page, selector);
          expect(ratio, `${theme}: ${selector}: rgb(${fg}) on rgb(${bg})`).toBeGreaterThanOrEqual(4.5);
        }
      };
      await page.goto(`${base}/overview`);
      await page.locator('[data-testid="overview"]').waitFor();
      await check([
        '[data-testid="theme"]',
        ".overview-part h2",
        ".facts dt",
        '[data-testid="labels"] th',
        '[data-testid="labels"] td',
        '[data-testid="networks"] td',
      ]);
      await page.goto(`${base}/inspect`);
      await page.locator('[data-testid="inspect-search"]').fill("running");
      await page.locator('[data-testid="inspect"] mark.current').first().waitFor();
      await check([
        '[data-testid="inspect"] .jt-key',
        '[data-testid="inspect"] .jt-string',
        '[data-testid="inspect"] .jt-number',
        '[data-testid="inspect"] .jt-count',
        '[data-testid="inspect"] mark.current',
        '[data-testid="inspect"] mark:not(.current)',
        '[data-testid="inspect-matches"]',
        '[data-testid="fold-all"]',
      ]);
      await page.goto(`${base}/terminal`);
      await page.locator('[data-testid="terminal-form"]').waitFor();
      await check([
        ".terminal-choose legend",
        ".terminal-choose fieldset label",
        '[data-testid="terminal-open"]',
      ]);
      await page.locator('[data-testid="theme"]').selectOption("system");
    });
  }

  for (const scheme of ["light", "dark"] as const) {
    it(`links, the running badge and primary buttons reach 4.5:1 in the ${scheme} theme`, async () => {
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto(`${panel.url}/#/envs/local/containers`);
      await page.locator(`[data-testid="container-row"][data-name="${name}"]`).waitFor();
      for (const selector of [
        `[data-testid="container-row"][data-name="${name}"] a`,
        `[data-testid="container-row"][data-name="${name}"] .badge`,
        '[data-testid="new-container"]',
        ".nav a",
      ]) {
        const { ratio, fg, bg } = await contrastIn(page, selector);
        expect(ratio, `${selector}: rgb(${fg}) on rgb(${bg})`).toBeGreaterThanOrEqual(4.5);
      }
    });
  }
});
