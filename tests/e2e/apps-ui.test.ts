import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, docker, eventually, PREFIX, runContainer } from "../helpers/engine.ts";
import { ADMIN, tokenFor } from "../helpers/panel.ts";
import { launchChromium, logIn, newPage, watchProblems } from "./browser.ts";

/** An app owner in Chromium on the built binary: its apps only, their logs, graphs, restart, alerts. */
describe("the Apps and Alerts pages, as an app owner", () => {
  const SHOP = `${PREFIX}shop`;
  const BLOG = `${PREFIX}blog`;
  let panel: BinaryPanel;
  let browser: Browser;
  let page: Page;
  let admin: string;
  const problems: string[] = [];
  const vesla = (app: string) => ["--label", "vesla.managed=true", "--label", `vesla.app=${app}`];
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(panel.url + path, {
      method,
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };

  beforeAll(async () => {
    // A shell that honours SIGTERM, so a restart does not wait out the engine's 10 s grace period.
    const serve = (app: string) => [
      "sh",
      "-c",
      `trap 'exit 0' TERM; echo serving ${app}; while :; do sleep 1; done`,
    ];
    runContainer(SHOP, serve(SHOP), vesla(SHOP));
    runContainer(BLOG, serve(BLOG), vesla(BLOG));
    panel = await startBinary(["--tls", "off"]);
    admin = await tokenFor(panel.url, ADMIN, "ui", "setup");
    const user = await api("POST", "/api/v1/users", {
      username: "shop-owner",
      password: "owner-password",
      role: "operator",
    });
    const team = await api("POST", "/api/v1/teams", { name: "shop" });
    await api("PUT", `/api/v1/teams/${team.body.id}`, {
      members: [user.body.id],
      resources: [{ env: "local", kind: "app", ref: SHOP }],
    });
    await api("POST", "/api/v1/alerts/rules", { name: "shop died", kind: "died", target: SHOP });
    browser = await launchChromium();
    page = await newPage(browser);
    await page.goto(panel.url);
    await logIn(page, "shop-owner", "owner-password");
    await page.locator('[data-testid="user"]').waitFor();
    // From here on: the login page's own "who am I?" is a 401 by design.
    watchProblems(page, problems);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await panel?.stop();
    cleanupEngine();
  });

  it("lists only the owner's app", async () => {
    await page.locator('[data-testid="nav-apps"]').click();
    await page.locator(`[data-testid="app"][data-name="${SHOP}"]`).waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid="app"]').count()).toBe(1);
    expect(await page.locator(`[data-testid="app"][data-name="${BLOG}"]`).count()).toBe(0);
  });

  it("shows the app's live log and graphs, and restarts it", async () => {
    await page.locator(`[data-testid="app"][data-name="${SHOP}"] a`).click();
    await page.locator('[data-testid="app-page"]').waitFor();
    await expect
      .poll(() => page.locator('[data-testid="logs"]').textContent(), { timeout: 10_000 })
      .toContain(`serving ${SHOP}`);
    await page.locator('[data-tab="stats"]').click();
    await page.locator('[data-testid="graph-cpu"] canvas').first().waitFor({ timeout: 15_000 });
    await expect
      .poll(() => page.locator('[data-testid="graph-mem"]').getAttribute("data-points").then(Number), {
        timeout: 15_000,
      })
      .toBeGreaterThan(0);
    const before = docker("inspect", "-f", "{{.State.StartedAt}}", SHOP);
    await page.locator('[data-action="restart"]').click();
    await eventually(
      () => (docker("inspect", "-f", "{{.State.StartedAt}}", SHOP) !== before ? true : undefined),
      20_000,
    );
    await page.locator('[data-tab="deployments"]').click();
    await page.getByText("No redeploy onto another image seen yet.").waitFor();
  }, 60_000);

  it("shows the app's alert live, and acknowledges it", async () => {
    await page.locator('[data-testid="nav-alerts"]').click();
    await page.getByText("No alerts.").waitFor();
    docker("kill", SHOP);
    const row = page.locator('[data-testid="alert"][data-state="firing"]');
    await row.waitFor({ timeout: 20_000 });
    expect(await row.textContent()).toContain(`${SHOP} died`);
    await row.locator('[data-action="ack"]').click();
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain("shop-owner");
    // The owner manages no rules: the admin's part of the page is not there.
    expect(await page.locator('[data-testid="new-rule"]').count()).toBe(0);
  }, 40_000);

  it("logged no error and no CSP violation", () => {
    expect(problems).toEqual([]);
  });
});
