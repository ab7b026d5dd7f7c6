import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, runContainer, uniqueName } from "../helpers/engine.ts";
import { launchChromium, logIn, newPage, watchProblems } from "./browser.ts";

// Live figures as a user sees them: the overview of every container, and a container's graphs.
describe("the stats UI in Chromium, from dist/ghostpanel", () => {
  let panel: BinaryPanel;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const burner = uniqueName("burner");
  const idle = uniqueName("idle");
  let burnerId = "";

  beforeAll(async () => {
    burnerId = runContainer(burner, ["sh", "-c", "yes > /dev/null"], ["--network", "none"]);
    runContainer(idle, ["sleep", "3600"], ["--network", "none"]);
    panel = await startBinary(["--tls", "auto"]);
    browser = await launchChromium();
    page = await newPage(browser);
    watchProblems(page, problems);
    await page.goto(panel.url);
    await logIn(page, "admin", "e2e-password-123");
    await page.locator('[data-testid="user"]').waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await panel?.stop();
    cleanupEngine();
  });

  /** Points the history API holds for the burner, asked outside the page (its console stays clean). */
  const historyPoints = async (range: string): Promise<number> => {
    const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const res = await fetch(`${panel.url}/api/v1/envs/local/stats/history?id=${burnerId}&range=${range}`, {
      headers: { cookie },
      tls: { rejectUnauthorized: false },
    });
    return res.ok ? ((await res.json()) as { t: number[] }).t.length : 0;
  };
  const row = (name: string) => page.locator(`[data-testid="top-row"][data-name="${name}"]`);
  const cpuOf = async (name: string) => Number(await row(name).getAttribute("data-cpu"));

  it("lists running containers on #/top, the busiest first, with live sparklines", async () => {
    await page.locator('[data-testid="nav-top"]').click();
    await row(burner).waitFor({ timeout: 15_000 });
    await row(idle).waitFor();
    await expect.poll(() => cpuOf(burner), { timeout: 20_000 }).toBeGreaterThan(20); // a whole core when the machine is quiet; shared on a busy one
    expect(await cpuOf(idle)).toBeLessThan(5);
    const names = await page
      .locator('[data-testid="top-row"]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-name")));
    expect(names.indexOf(burner)).toBeLessThan(names.indexOf(idle));
    // A point per tick: a minute's worth at most, at least a line after a few ticks.
    const points = async () =>
      ((await row(burner).locator("polyline").getAttribute("points")) ?? "").split(" ").filter(Boolean)
        .length;
    await expect.poll(points, { timeout: 10_000 }).toBeGreaterThan(2);
    expect(await page.locator('[data-testid="stats-source"]').textContent()).toMatch(/cgroup/);
    await page.locator('[data-testid="host-panel"]').waitFor();
    await page.screenshot({ path: "test-results/stats-top-1280.png" });
  });

  it("sorts by a column header and filters by name", async () => {
    await page.locator('button[data-sort="name"]').click();
    const names = () =>
      page
        .locator('[data-testid="top-row"]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-name")));
    await expect
      .poll(async () => {
        const n = (await names()) as string[];
        return n.join("\n") === [...n].sort((a, b) => a.localeCompare(b)).join("\n");
      })
      .toBe(true);
    await page.locator('[data-testid="top-filter"]').fill(idle);
    await expect.poll(() => page.locator('[data-testid="top-row"]').count()).toBe(1);
    await page.locator('[data-testid="top-filter"]').fill("");
    // Back to the default order, CPU largest first.
    await page.locator('button[data-sort="cpu"]').click();
    await expect
      .poll(async () => {
        const n = (await names()) as string[];
        return n.indexOf(burner) < n.indexOf(idle);
      })
      .toBe(true);
  });

  it("has no sideways scrolling on #/top at 360 px", async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    await row(burner).waitFor();
    await Bun.sleep(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    // Named in the failure: the outermost elements that reach past the viewport.
    const past = await page.evaluate(() =>
      [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .filter(
          (e) =>
            !(e.parentElement && e.parentElement.getBoundingClientRect().right > window.innerWidth + 0.5),
        )
        .map(
          (e) =>
            `${e.tagName.toLowerCase()}.${e.className} "${e.textContent?.slice(0, 20)}" in ${e.parentElement?.className} (${Math.round(e.getBoundingClientRect().right)})`,
        ),
    );
    expect(overflow, past.join(", ")).toBeLessThanOrEqual(0);
    await page.screenshot({ path: "test-results/stats-top-360.png" });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("draws the Stats tab's four graphs and keeps them up to date", async () => {
    await row(burner).locator("a").click();
    await page.waitForURL((url) => url.hash.includes(burnerId));
    await page.locator('[data-tab="stats"]').click();
    const graphs = ["cpu", "mem", "net", "blk"];
    for (const g of graphs) await page.locator(`[data-testid="graph-${g}"] canvas`).first().waitFor();
    const points = () => page.locator('[data-testid="graph-cpu"]').getAttribute("data-points").then(Number);
    await expect.poll(points, { timeout: 10_000 }).toBeGreaterThan(0);
    const before = await points();
    await expect.poll(points, { timeout: 10_000 }).toBeGreaterThan(before);
    for (const g of graphs) {
      expect(
        Number(await page.locator(`[data-testid="graph-${g}"]`).getAttribute("data-points")),
      ).toBeGreaterThan(0);
    }
    expect(await page.locator('[data-testid="stats-source"]').textContent()).toMatch(/cgroup/);
    // The CPU graph's newest figure is the burner's.
    const newest = async () =>
      Number.parseFloat((await page.locator('[data-testid="graph-cpu"] b').textContent()) ?? "");
    await expect.poll(newest, { timeout: 10_000 }).toBeGreaterThan(20);
    await page.screenshot({ path: "test-results/stats-tab-1280.png", fullPage: true });
  });

  it("loads a longer range from the history and comes back to live", async () => {
    // The 10 s rollups behind "1h" are written as each 10 s step ends: wait for the first one.
    await expect.poll(() => historyPoints("1h"), { timeout: 30_000 }).toBeGreaterThan(0);
    await page.locator('[data-range="1h"]').click();
    await expect.poll(() => page.locator('[data-range="1h"]').getAttribute("aria-pressed")).toBe("true");
    await expect
      .poll(() => page.locator('[data-testid="graph-cpu"]').getAttribute("data-points").then(Number), {
        timeout: 10_000,
      })
      .toBeGreaterThan(0);
    expect(await page.locator('.stats [role="alert"]').count()).toBe(0);
    await page.locator('[data-range="live"]').click();
    await expect
      .poll(() => page.locator('[data-testid="graph-cpu"]').getAttribute("data-points").then(Number))
      .toBeGreaterThan(0);
  });

  it("keeps the graphs within 360 px", async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    await Bun.sleep(500);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    // Named in the failure: the outermost elements that reach past the viewport.
    const past = await page.evaluate(() =>
      [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .filter(
          (e) =>
            !(e.parentElement && e.parentElement.getBoundingClientRect().right > window.innerWidth + 0.5),
        )
        .map(
          (e) =>
            `${e.tagName.toLowerCase()}.${e.className} "${e.textContent?.slice(0, 20)}" in ${e.parentElement?.className} (${Math.round(e.getBoundingClientRect().right)})`,
        ),
    );
    expect(overflow, past.join(", ")).toBeLessThanOrEqual(0);
    const box = await page.locator('[data-testid="graph-cpu"] canvas').first().boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(360);
    await page.screenshot({ path: "test-results/stats-tab-360.png", fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("logged no error and no CSP violation", () => {
    expect(problems).toEqual([]);
  });
});
