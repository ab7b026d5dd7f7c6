import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, docker, PREFIX, RUN_ID, TEST_IMAGE } from "../helpers/engine.ts";
import { startRegistry, type TestRegistry } from "../helpers/registry-server.ts";
import { launchChromium, logIn, newPage, watchProblems } from "./browser.ts";

// The built binary and its UI in Chromium: an image built and one pulled through the page appear
// in the list as they are made, with the build's output and the pull's layers shown as they go.
describe("images in Chromium, from dist/ghostpanel", () => {
  let panel: BinaryPanel;
  let registry: TestRegistry;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const built = `${PREFIX}ui-built:1`;
  let remote = "";

  beforeAll(async () => {
    [panel, registry] = await Promise.all([startBinary(["--tls", "off"]), startRegistry()]);
    remote = `${registry.host}/gptest-${RUN_ID}/ui-pulled:1`;
    browser = await launchChromium();
    page = await newPage(browser);
    watchProblems(page, problems);
    await page.goto(panel.url);
    await logIn(page, "admin", "e2e-password-123");
    await page.locator('[data-testid="nav-images"]').waitFor({ timeout: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await panel?.stop();
    await registry?.stop();
    cleanupEngine();
    for (const ref of [built, remote]) {
      try {
        docker("rmi", "-f", ref);
      } catch {}
    }
  }, 60_000);

  const row = (tag: string) => page.locator('[data-testid="image-row"]', { hasText: tag });

  it("builds from a pasted Dockerfile: the output streams in, the image appears in the list", async () => {
    await page.locator('[data-testid="nav-images"]').click();
    await page.locator('[data-testid="images"]').waitFor({ timeout: 30_000 });
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 7;
    });
    const form = page.locator('[data-testid="build-form"]');
    await form.locator("textarea").fill(`FROM ${TEST_IMAGE}\nRUN echo ui-${RUN_ID} > /ui.txt\n`);
    await form.locator('input[name="tags"]').fill(built);
    await form.locator('button[type="submit"]').click();
    const job = page.locator('[data-testid="job"]', { hasText: built }).first();
    await job.locator('[data-testid="job-state"]', { hasText: "done" }).waitFor({ timeout: 180_000 });
    expect(await job.locator('[data-testid="job-log"]').textContent()).toContain(
      `Successfully tagged ${built}`,
    );
    await row(built).waitFor({ timeout: 30_000 });
    expect(docker("run", "--rm", "--label", `ghostpanel.test=${RUN_ID}`, built, "cat", "/ui.txt")).toBe(
      `ui-${RUN_ID}`,
    );
    // Same document: the list followed the engine without a reload.
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
  }, 240_000);

  it("pulls from a loopback registry with a bar per layer, and the image appears", async () => {
    docker("tag", built, remote);
    docker("push", remote);
    docker("rmi", remote, built);
    await row(built).waitFor({ state: "detached", timeout: 30_000 });
    const form = page.locator('[data-testid="pull-form"]');
    await form.locator('input[name="reference"]').fill(remote);
    await form.locator('button[type="submit"]').click();
    const job = page.locator('[data-testid="job"]', { hasText: remote }).first();
    await job.locator('[data-testid="job-state"]', { hasText: "done" }).waitFor({ timeout: 120_000 });
    // a bar for each layer, named by its short id (the first step names the tag being pulled)
    const steps = await job
      .locator('[data-testid="job-steps"] li')
      .evaluateAll((items) =>
        items.map((li) => [li.getAttribute("data-step"), li.querySelector("progress") !== null]),
      );
    expect(steps.filter(([id, bar]) => bar && /^[a-f0-9]{12}$/.test(String(id))).length).toBeGreaterThan(0);
    await row(remote).waitFor({ timeout: 30_000 });
    // A reloaded page gets the job back from jobs:<env>, bars and all.
    await page.reload();
    const again = page.locator('[data-testid="job"]', { hasText: remote }).first();
    await again.locator('[data-testid="job-state"]', { hasText: "done" }).waitFor({ timeout: 30_000 });
    expect(await again.locator('[data-testid="job-steps"] progress').count()).toBe(steps.length);
    expect(problems).toEqual([]);
  }, 240_000);

  it("shows an image's page with its layers, and a pull of a missing tag says so", async () => {
    await row(remote).locator("a").click();
    await page.locator('[data-testid="history"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="history"]').textContent()).toContain(`ui-${RUN_ID}`);
    expect(await page.locator('[data-testid="image-tags"]').textContent()).toBe(remote);
    await page.locator('[data-testid="nav-images"]').click();
    const missing = `${registry.host}/gptest-${RUN_ID}/ui-pulled:nope`;
    const form = page.locator('[data-testid="pull-form"]');
    await form.locator('input[name="reference"]').fill(missing);
    await form.locator('button[type="submit"]').click();
    const job = page.locator('[data-testid="job"]', { hasText: missing }).first();
    await job.locator('[data-testid="job-error"]').waitFor({ timeout: 60_000 });
    expect(await job.locator('[data-testid="job-error"]').textContent()).toBe(
      `${missing} not found in the registry`,
    );
  }, 120_000);
});
