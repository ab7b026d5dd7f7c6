import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, startAgent } from "../helpers/agent.ts";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { tokenFor } from "../helpers/panel.ts";
import { launchChromium, logIn, newPage, watchProblems } from "./browser.ts";

// An admin adds an edge agent from the environments page: a join token, the exact command to run,
// the agent (the built executable, run with that command's arguments) shown as an environment of
// kind agent, and removing it revokes it.
describe("edge agents in the UI, from dist/ghostpanel", () => {
  let panel: BinaryPanel;
  let browser: Browser;
  let page: Page;
  let agent: AgentProcess | undefined;
  const problems: string[] = [];
  const admin = { username: "admin", password: "e2e-password-123" };
  const NAME = `ui-edge-${process.pid.toString(36)}`;
  const dataDir = mkdtempSync(join(tmpdir(), "gptest-agentui-"));

  beforeAll(async () => {
    panel = await startBinary(["--tls", "off", "--agent-listen", "127.0.0.1:0"]);
    await tokenFor(panel.url, admin, "e2e-agents", "setup");
    browser = await launchChromium();
    page = await newPage(browser);
    watchProblems(page, problems, false);
    await page.goto(panel.url);
    await logIn(page, admin.username, admin.password);
    await page.locator('[data-testid="user"]').waitFor();
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await browser?.close();
    await panel?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  const card = (id: string) => page.locator(`[data-testid="env-card"][data-id="${id}"]`);

  it("makes a join token and shows the command that joins an agent, which then shows as an edge agent", async () => {
    await page.locator('[data-testid="nav-home"]').click();
    await page.waitForFunction(() => location.hash === "#/envs");
    const form = page.locator('[data-testid="agent-join"]');
    await form.locator('input[name="env_name"]').fill(NAME);
    await form.locator('button[type="submit"]').click();
    const shown = page.locator('[data-testid="agent-command"]');
    await shown.waitFor();
    expect(await shown.textContent()).toContain(NAME);
    const command = await shown.locator("input").inputValue();
    const match = /^ghostpanel agent --panel (\S+) --join (gpj1\.\S+)$/.exec(command);
    expect(match, command).not.toBeNull();
    expect(match![1]).toBe(panel.url);

    // The command as an admin would paste it on the edge box (its engine here is this machine's).
    agent = startAgent(["--panel", match![1]!, "--join", match![2]!, "--data", dataDir]);
    expect(await agent.waitFor(/Connected to the panel .* \(joined\)/), agent.output()).toBe(true);
    // The new environment arrives on the open page, live.
    await card(NAME).waitFor({ timeout: 20_000 });
    await page.waitForFunction(
      (id) =>
        document.querySelector(`[data-testid="env-card"][data-id="${id}"]`)?.getAttribute("data-status") ===
        "up",
      NAME,
      { timeout: 20_000 },
    );
    expect(await card(NAME).locator('[data-testid="env-kind"]').textContent()).toBe("edge agent");
    await shown.locator("button", { hasText: "Done" }).click();
    await shown.waitFor({ state: "detached" });
  }, 60_000);

  it("says a used or refused name in words", async () => {
    const form = page.locator('[data-testid="agent-join"]');
    await form.locator('input[name="env_name"]').fill(NAME);
    await form.locator('button[type="submit"]').click();
    await page.getByText(`an environment named "${NAME}" exists`).first().waitFor();
    expect(await page.locator('[data-testid="agent-command"]').count()).toBe(0);
  }, 30_000);

  it("removes the agent after a confirmation that names it and says it revokes it; the agent is refused", async () => {
    await card(NAME).locator('[data-action="remove"]').click();
    const dialog = page.locator("dialog");
    expect(await dialog.locator("h2").textContent()).toBe(
      `Remove the edge agent ${NAME} and revoke its key?`,
    );
    expect(await dialog.locator('[data-testid="confirm"]').textContent()).toBe(`Revoke ${NAME}`);
    await dialog.locator('[data-testid="confirm"]').click();
    await card(NAME).waitFor({ state: "detached" });
    expect(await agent!.exited).not.toBe(0);
    expect(agent!.output()).toMatch(/refused this agent: agent ".*" has been revoked/);
    // the server's own page errors only (the 401 before logging in is not one)
    expect(problems).toEqual([]);
  }, 30_000);
});
