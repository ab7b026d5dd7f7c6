import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, docker, eventually, runContainer, uniqueName } from "../helpers/engine.ts";
import { launchChromium, logIn, newPage, watchProblems } from "./browser.ts";

const LINES = 200_000;

// The log viewer as a user gets it: the built binary's UI, under its CSP, against the real engine.
describe("the log viewer in Chromium, from dist/ghostpanel", () => {
  let panel: BinaryPanel;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const requested: string[] = [];
  let big = "";

  beforeAll(async () => {
    // Starts writing only once the page follows it (told by a file): every line comes through the live topic.
    big = runContainer(uniqueName("lv-big"), [
      "sh",
      "-c",
      `while [ ! -e /tmp/go ]; do sleep 0.1; done; i=0; while [ $i -lt ${LINES} ]; do echo "line-$i payload"; ` +
        `if [ $((i % 1000)) -eq 0 ]; then echo "err-$i" >&2; fi; i=$((i+1)); done; ` +
        `printf '\\033[1;31mred-bold\\033[0m <b>not-markup</b>\\n'; echo all-written; sleep 3600`,
    ]);
    panel = await startBinary(["--tls", "auto"]);
    browser = await launchChromium();
    page = await newPage(browser);
    watchProblems(page, problems);
    page.on("request", (r) => requested.push(new URL(r.url()).pathname));
    await page.goto(panel.url);
    await logIn(page, "admin", "e2e-password-123");
    await page.locator('[data-testid="user"]').waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await panel?.stop();
    cleanupEngine();
  });

  const box = () => page.locator('[data-testid="logs"]');
  const shown = async () => Number(await box().getAttribute("data-lines"));

  it(`follows a container writing ${LINES.toLocaleString("en")} lines, keeping only the rows in sight in the page`, async () => {
    const before = requested.length;
    await page.goto(`${panel.url}/#/envs/local/containers/${big}`);
    await box().waitFor();
    expect(requested.slice(before).some((p) => /\/log-viewer-\w+\.js$/.test(p))).toBe(true);
    await page.locator('[data-testid="logs-empty"]').waitFor();
    docker("exec", big, "touch", "/tmp/go");
    await page.locator(".lv-row", { hasText: "all-written" }).waitFor({ timeout: 90_000 });
    expect(await shown()).toBe(LINES + LINES / 1000 + 2);
    // Followed to the end, with far fewer rows in the page than lines in the view.
    const rows = await page.locator(".lv-row").count();
    expect(rows).toBeGreaterThan(10);
    expect(rows).toBeLessThan(200);
    // ANSI colours become styles; the markup in the text stays text.
    const red = page.locator(".lv-row .a-fg1.a-b", { hasText: "red-bold" });
    await red.waitFor();
    expect(await page.locator(".lv-row b").count()).toBe(0);
    await expect(page.locator(".lv-row", { hasText: "<b>not-markup</b>" }).count()).resolves.toBe(1);
  }, 120_000);

  it("finds a line near the start, marks it and scrolls to it; filters to the matches", async () => {
    const search = page.locator('input[name="log-search"]');
    await search.fill("line-42 payload");
    await expect(page.locator('[data-testid="match-count"]').textContent()).resolves.toMatch(/of 1\b/);
    await search.press("Enter");
    const row = page.locator(".lv-row.current", { hasText: "line-42 payload" });
    await row.waitFor();
    expect(await row.locator("mark").textContent()).toBe("line-42 payload");
    expect(await row.isVisible()).toBe(true);
    await page.locator('input[name="regex"]').check();
    await search.fill("^line-1999[0-9]{2} ");
    await eventually(async () =>
      (await page.locator('[data-testid="match-count"]').textContent())?.includes("of 100")
        ? true
        : undefined,
    );
    await page.locator('input[name="only-matches"]').check();
    await eventually(async () => ((await shown()) === 100 ? true : undefined));
    await search.fill("(unclosed");
    await page.getByText("Not a valid regular expression").waitFor();
    await search.fill("");
    await page.locator('input[name="only-matches"]').uncheck();
    await page.locator('input[name="regex"]').uncheck();
    await page.screenshot({ path: "test-results/logs-search.png" });
  });

  it("shows stderr or stdout alone", async () => {
    await page.locator('select[name="stream"]').selectOption("stderr");
    await eventually(async () => ((await shown()) === LINES / 1000 ? true : undefined));
    const streams = await page
      .locator(".lv-row")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-stream")));
    expect(new Set(streams)).toEqual(new Set(["stderr"]));
    await page.locator('select[name="stream"]').selectOption("stdout");
    await eventually(async () => ((await shown()) === LINES + 2 ? true : undefined));
    await page.locator('select[name="stream"]').selectOption("all");
  });

  it("loads older lines when scrolled to the top, keeping the reader's place", async () => {
    const id = runContainer(uniqueName("lv-older"), [
      "sh",
      "-c",
      'i=0; while [ $i -lt 5000 ]; do echo "old-$i"; i=$((i+1)); done; sleep 3600',
    ]);
    await Bun.sleep(1500);
    await page.goto(`${panel.url}/#/envs/local/containers/${id}`);
    await page.locator(".lv-row", { hasText: "old-4999" }).waitFor();
    expect(await shown()).toBe(1000);
    await box().evaluate((el) => {
      el.scrollTop = 0;
    });
    await eventually(async () => ((await shown()) > 1000 ? true : undefined));
    expect(await shown()).toBe(3000);
    // The line that was at the top is still in sight, with the older ones above it.
    const inSight = await page.locator(".lv-text", { hasText: /^old-4000$/ }).evaluate((el) => {
      const row = el.getBoundingClientRect();
      const view = el.closest(".lv-box")!.getBoundingClientRect();
      return row.top >= view.top && row.bottom <= view.bottom;
    });
    expect(inSight).toBe(true);
    await box().evaluate((el) => {
      el.scrollTop = 0;
    });
    await eventually(async () => ((await shown()) === 5000 ? true : undefined));
    await box().evaluate((el) => {
      el.scrollTop = 0;
    });
    await page.locator(".lv-text", { hasText: /^old-0$/ }).waitFor();
    expect(await shown()).toBe(5000);
  }, 120_000);

  it("merges two containers by time, each line tagged by its container; says when a log is empty", async () => {
    const names = [uniqueName("lv-alpha"), uniqueName("lv-beta")];
    const ids = names.map((n, k) =>
      runContainer(n, [
        "sh",
        "-c",
        `sleep 0.${k * 5}; i=0; while [ $i -lt 20 ]; do echo "${k ? "beta" : "alpha"}-$i"; i=$((i+1)); sleep 1; done; sleep 3600`,
      ]),
    );
    await page.goto(`${panel.url}/#/envs/local/containers`);
    for (const n of names) await page.locator(`input[aria-label="Select ${n}"]`).check();
    await page.locator('[data-testid="bulk-bar"] [data-bulk="logs"]').click();
    await page.waitForURL(/#\/envs\/local\/logs\//);
    await page.locator(".lv-text", { hasText: /^beta-2$/ }).waitFor({ timeout: 15_000 });
    const rows = await page.locator(".lv-row").evaluateAll((els) =>
      els.map((r) => ({
        tag: r.querySelector(".lv-src")?.textContent,
        title: r.querySelector(".lv-src")?.getAttribute("title"),
        text: r.querySelector(".lv-text")?.textContent,
      })),
    );
    // In the engine's time order across both containers.
    const times = new Map(
      ids.flatMap((id) =>
        docker("logs", "-t", id)
          .split("\n")
          .filter(Boolean)
          .map((l) => [l.slice(l.indexOf(" ") + 1), l.slice(0, l.indexOf(" "))] as const),
      ),
    );
    const shownTexts = rows.map((r) => r.text ?? "");
    expect(shownTexts.filter((t) => t.startsWith("alpha")).length).toBeGreaterThan(2);
    expect(shownTexts.filter((t) => t.startsWith("beta")).length).toBeGreaterThan(2);
    const byTime = [...shownTexts].sort((a, b) => (times.get(a)! < times.get(b)! ? -1 : 1));
    expect(shownTexts).toEqual(byTime);
    // Tagged by the names without the prefix they share; the whole name on hover.
    for (const r of rows) {
      const name = r.text?.startsWith("alpha") ? names[0]! : names[1]!;
      expect(r.title).toBe(name);
      expect(r.tag).toBe(name.slice(name.indexOf("lv-") + 3));
    }
    expect(
      await page
        .locator(".lv-row .lv-src.s0")
        .first()
        .evaluate((e) => getComputedStyle(e).color),
    ).not.toBe(
      await page
        .locator(".lv-row .lv-src.s1")
        .first()
        .evaluate((e) => getComputedStyle(e).color),
    );
    await page.screenshot({ path: "test-results/logs-merged.png" });
    // Lines that arrive later join in time order too.
    await page.locator(".lv-text", { hasText: /^beta-4$/ }).waitFor({ timeout: 15_000 });

    const quiet = runContainer(uniqueName("lv-quiet"), ["sleep", "3600"]);
    await page.goto(`${panel.url}/#/envs/local/containers/${quiet}`);
    await expect(page.locator('[data-testid="logs-empty"]').textContent()).resolves.toBe(
      "This container has not written any log lines yet.",
    );
  }, 120_000);

  it("downloads the log as text, with the stream filter applied", async () => {
    await page.goto(`${panel.url}/#/envs/local/containers/${big}`);
    await page.locator('select[name="stream"]').selectOption("stderr");
    const href = await page.locator("a[download]").getAttribute("href");
    const res = await page.request.get(`${panel.url}${href}`);
    expect(res.status()).toBe(200);
    expect(res.headers()["content-disposition"]).toMatch(/^attachment; filename=".+\.log"$/);
    const lines = (await res.text()).trimEnd().split("\n");
    expect(lines).toHaveLength(LINES / 1000);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z err-0$/);
    expect(problems).toEqual([]);
  });
});
