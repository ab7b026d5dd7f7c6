import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, runContainer, uniqueName } from "../helpers/engine.ts";
import { tokenFor } from "../helpers/panel.ts";
import { launchChromium, logIn, newPage, watchProblems } from "./browser.ts";

// Environments in the address: `#/envs/<env>/…`, old links moved there, and a switcher once there are two.
describe("environments in the UI, from dist/ghostpanel", () => {
  let panel: BinaryPanel;
  let browser: Browser;
  let page: Page;
  let token = "";
  const problems: string[] = [];
  const admin = { username: "admin", password: "e2e-password-123" };
  const name = uniqueName("envs");
  let id = "";

  beforeAll(async () => {
    id = runContainer(name, ["sleep", "3600"], ["--network", "none"]);
    panel = await startBinary(["--tls", "off"]);
    token = await tokenFor(panel.url, admin, "e2e-envs", "setup");
    browser = await launchChromium();
    page = await newPage(browser);
    // Page errors and CSP violations; the 401 of the boot's session check before logging in is expected.
    watchProblems(page, problems, false);
    await page.goto(panel.url);
    await logIn(page, admin.username, admin.password);
    await page.locator('[data-testid="user"]').waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await panel?.stop();
    cleanupEngine();
  });

  const row = () => page.locator(`[data-testid="container-row"][data-name="${name}"]`);
  const hash = () => new URL(page.url()).hash;

  it("renders the list at #/envs/local/containers, where an old #/containers link lands", async () => {
    await page.goto(`${panel.url}/#/envs/local/containers`);
    await row().waitFor({ timeout: 15_000 });
    expect(await row().locator("a").getAttribute("href")).toBe(`#/envs/local/containers/${id}`);

    await page.goto(`${panel.url}/#/top`);
    await page.waitForFunction(() => location.hash === "#/envs/local/top");
    await page.goto(`${panel.url}/#/containers`);
    await page.waitForFunction(() => location.hash === "#/envs/local/containers");
    await row().waitFor();
    // One environment: nothing to switch between.
    expect(await page.locator('[data-testid="env-switcher"]').count()).toBe(0);
  });

  it("offers an environment added through the API in the switcher, and switching moves the list there", async () => {
    const res = await fetch(`${panel.url}/api/v1/envs`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "second", url: "unix:///var/run/docker.sock" }),
    });
    expect(res.status).toBe(201);
    const switcher = page.locator('[data-testid="env-switcher"]');
    // The `envs` topic brings the new engine to the open page once it is up: no reload.
    await switcher.locator("option", { hasText: "second" }).waitFor({ state: "attached", timeout: 15_000 });
    expect(await switcher.inputValue()).toBe("local");

    await switcher.selectOption("second");
    await page.waitForFunction(() => location.hash === "#/envs/second/containers");
    // The same engine behind both, so the same container, now linked in the second environment.
    await row().locator(`a[href="#/envs/second/containers/${id}"]`).waitFor();
    expect(await page.locator('[data-testid="nav-top"]').getAttribute("href")).toBe("#/envs/second/top");

    await row().locator("a").click();
    expect(hash()).toBe(`#/envs/second/containers/${id}`);
    await page.locator('[data-tab="logs"]').waitFor();
    // A container's page switches to the other environment's list, not to an id it may not have.
    await switcher.selectOption("local");
    await page.waitForFunction(() => location.hash === "#/envs/local/containers");
    await row().waitFor();
    expect(problems).toEqual([]);
  });
});
