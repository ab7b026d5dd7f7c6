import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, runContainer, uniqueName } from "../helpers/engine.ts";
import { launchChromium, logIn, watchProblems } from "./browser.ts";

// Users, teams, tokens and roles as an admin and a viewer see them, in the built binary's UI.
describe("the access pages in Chromium, from dist/ghostpanel", () => {
  let panel: BinaryPanel;
  let browser: Browser;
  let admin: Page;
  let viewerContext: BrowserContext;
  let viewer: Page;
  const problems: string[] = [];
  const adminPassword = "e2e-password-123";
  const viewerPassword = "viewer-password-123";
  const suffix = Date.now().toString(36);
  const viewerName = `viewer-${suffix}`;
  const teamName = `team-${suffix}`;

  // Not every console error: the failed logins below are expected to log some.
  const watch = (page: Page) => watchProblems(page, problems, false);

  beforeAll(async () => {
    panel = await startBinary(["--tls", "auto"]);
    browser = await launchChromium();
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 900 },
    });
    admin = await context.newPage();
    watch(admin);
    await admin.goto(panel.url);
    await logIn(admin, "admin", adminPassword);
    await admin.locator('[data-testid="user"]').filter({ hasText: "admin" }).waitFor({ timeout: 15_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await panel?.stop();
    cleanupEngine();
  });

  it("lets the admin create a viewer on the Users page", async () => {
    await admin.locator('[data-testid="nav-users"]').click();
    const form = admin.locator("form").filter({ hasText: "New user" });
    await form.locator('input[name="username"]').fill(viewerName);
    await form.locator('input[name="password"]').fill(viewerPassword);
    await form.locator('select[name="role"]').selectOption("viewer");
    await form.locator('button[type="submit"]').click();
    const row = admin.locator(`[data-testid="user-row"][data-name="${viewerName}"]`);
    await row.waitFor();
    expect(await row.locator("select").inputValue()).toBe("viewer");
  });

  it("refuses to demote the last admin, with the server's reason", async () => {
    const row = admin.locator('[data-testid="user-row"][data-name="admin"]');
    await row.locator("select").selectOption("viewer");
    await admin.locator('[data-testid="confirm"]').click();
    await admin
      .locator('[role="alert"]')
      .filter({ hasText: /at least one admin/i })
      .waitFor();
    await expect.poll(() => row.locator("select").inputValue()).toBe("admin");
  });

  it("fits the Users page in 360 px: no sideways scrolling", async () => {
    await admin.setViewportSize({ width: 360, height: 740 });
    await admin.locator(`[data-testid="user-row"][data-name="${viewerName}"]`).waitFor();
    const overflow = await admin.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await admin.setViewportSize({ width: 1280, height: 900 });
    expect(overflow).toBeLessThanOrEqual(0);
  });

  it("creates a team and makes the viewer a member", async () => {
    await admin.locator('[data-testid="nav-teams"]').click();
    await admin.locator('input[name="team_name"]').fill(teamName);
    await admin.getByRole("button", { name: "Create team" }).click();
    const team = admin.locator(`[data-testid="team"][data-name="${teamName}"]`);
    await team.locator('[data-action="edit"]').click();
    await team.locator(`input[name="member"][value="${viewerName}"]`).check();
    await team.locator('input[name="env"][value="local"]').check();
    await team.locator('[data-action="save"]').click();
    await team.locator('[data-testid="team-members"]').filter({ hasText: viewerName }).waitFor();
    expect(await team.textContent()).toContain("environment local");
  });

  it("creates an API token on the account page, shows it once, and lists it", async () => {
    await admin.locator('[data-testid="nav-account"]').click();
    await admin.locator('[data-testid="account-role"]').filter({ hasText: "admin" }).waitFor();
    await admin.locator('input[name="token_name"]').fill("e2e-script");
    await admin.locator('select[name="scope"]').selectOption("read");
    await admin.getByRole("button", { name: "Create token" }).click();
    const shown = admin.locator('[data-testid="new-token"]');
    await shown.waitFor();
    expect(await shown.textContent()).toMatch(/you will not see it again/i);
    const token = await shown.locator("input").inputValue();
    expect(token.length).toBeGreaterThan(20);
    const row = admin.locator('[data-testid="token-row"][data-name="e2e-script"]');
    await row.waitFor();
    expect(await row.textContent()).toContain("read-only");
    expect(await row.textContent()).toContain("never");
    // The token works, as a bearer, for what a read-only token may do.
    const res = await fetch(`${panel.url}/api/v1/auth/me`, {
      headers: { authorization: `Bearer ${token}` },
      tls: { rejectUnauthorized: false },
    });
    expect(res.status).toBe(200);
  });

  it("edits the security settings, saved by the panel", async () => {
    await admin.locator('[data-testid="nav-security"]').click();
    await admin.locator('input[name="allow_devices"]').check();
    await admin.locator('input[name="bind_path"]').fill("/data/shared");
    await admin.locator('input[name="bind_path"]').press("Enter");
    await admin.getByRole("button", { name: "Save" }).click();
    await admin.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    // What the panel stored, read back from it after a reload.
    await admin.reload();
    await admin.locator('[data-testid="nav-security"]').click();
    await admin.locator('input[name="allow_devices"]').waitFor();
    expect(await admin.locator('input[name="allow_devices"]').isChecked()).toBe(true);
    expect(await admin.locator('input[name="allow_privileged"]').isChecked()).toBe(false);
    expect(await admin.locator("main").textContent()).toContain("/data/shared");
  });

  it("shows a viewer no admin links, and their role and team on the account page", async () => {
    viewerContext = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 900 },
    });
    viewer = await viewerContext.newPage();
    watch(viewer);
    await viewer.goto(panel.url);
    await logIn(viewer, viewerName, viewerPassword);
    await viewer.locator('[data-testid="nav-account"]').click();
    await viewer.locator('[data-testid="account-role"]').filter({ hasText: "viewer" }).waitFor();
    expect(await viewer.locator('[data-testid="account-teams"]').textContent()).toContain(teamName);
    expect(await viewer.locator('[data-testid="nav-users"]').count()).toBe(0);
    expect(await viewer.locator('[data-testid="nav-teams"]').count()).toBe(0);
    expect(await viewer.locator('[data-testid="nav-security"]').count()).toBe(0);
  });

  it("shows a viewer no button it cannot use, and says plainly that an admin page is for admins", async () => {
    const name = uniqueName("viewed");
    runContainer(name, ["sleep", "3600"], ["--label", `ghostpanel.team=${teamName}`]);
    await viewer.goto(`${panel.url}/#/envs/local/containers`);
    const row = viewer.locator(`[data-testid="container-row"][data-name="${name}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.locator("button").count()).toBe(0);
    expect(await viewer.locator('[data-testid="new-container"]').count()).toBe(0);
    await row.locator("a").click();
    await viewer.locator("h1").filter({ hasText: name }).waitFor();
    expect(await viewer.locator("main header button").count()).toBe(0);
    expect(await viewer.locator('[data-testid="duplicate"]').count()).toBe(0);
    await viewer.goto(`${panel.url}/#/audit`);
    await viewer.locator('[data-testid="admins-only"]').waitFor();
    expect(await viewer.locator('[data-testid="admins-only"]').textContent()).toContain("for admins");
  });

  it("sends the viewer to the login page when an admin ends their sessions", async () => {
    await admin.locator('[data-testid="nav-users"]').click();
    await admin
      .locator(`[data-testid="user-row"][data-name="${viewerName}"]`)
      .getByText("Set password")
      .click();
    await admin.locator('dialog input[name="new_password"]').fill(`${viewerPassword}-2`);
    await admin.locator('[data-testid="confirm"]').click();
    // The stream notices within its recheck period (10 s) and closes with 4401; nothing else asks.
    await viewer.locator('input[name="password"]').waitFor({ timeout: 20_000 });
    expect(new URL(viewer.url()).hash).toBe("#/login");
  });

  it("shows the lockout message after repeated failed logins", async () => {
    // From the fourth failure on, each attempt waits a while (1 s, then 2 s…): one made after the
    // wait is over (a slow machine) is checked again and fails again. Bounded well below the lock.
    let locked = false;
    for (let i = 0; i < 8 && !locked; i++) {
      const answer = viewer.waitForResponse((r) => r.url().endsWith("/api/v1/auth/login"));
      await logIn(viewer, viewerName, "wrong-password");
      const status = (await answer).status();
      expect(status === 401 || (i >= 3 && status === 429)).toBe(true);
      locked = status === 429;
    }
    await viewer
      .locator('[role="alert"]')
      .filter({ hasText: /too many failed logins/i })
      .waitFor();
    expect(locked).toBe(true);
  });

  it("broke no content security rule", () => {
    expect(problems).toEqual([]);
  });
});
