import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { RUN_LABEL, TEST_IMAGE, uniqueName } from "../helpers/engine.ts";
import { tokenFor } from "../helpers/panel.ts";
import { makeTlsFiles, SecondEngine } from "../helpers/second-engine.ts";
import { launchChromium, logIn, newPage, watchProblems } from "./browser.ts";

// The home page of every environment, from dist/ghostpanel: an engine over TCP with TLS client
// certificates (a private dockerd) added through the form, filtered by tag, entered, switched to and
// from with the page kind kept, renamed and removed.
describe("home page of environments, from dist/ghostpanel", () => {
  let engine: SecondEngine | undefined;
  let certDir = "";
  let panel: BinaryPanel | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let token = "";
  let containerId = "";
  const problems: string[] = [];
  const admin = { username: "admin", password: "e2e-password-123" };
  const containerName = uniqueName("home");

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), "gptest-home-"));
    const certs = makeTlsFiles(certDir);
    engine = await SecondEngine.start({ tcp: true, tls: certs.server });
    engine.loadImage();
    containerId = engine.docker(
      "run",
      "-d",
      "--name",
      containerName,
      "--label",
      RUN_LABEL,
      TEST_IMAGE,
      "sleep",
      "3600",
    );
    panel = await startBinary(["--tls", "off"]);
    token = await tokenFor(panel.url, admin, "e2e-home", "setup");
    browser = await launchChromium();
    page = await newPage(browser);
    watchProblems(page, problems, false);
    await page.goto(panel.url);
    await logIn(page, admin.username, admin.password);
    await page.locator('[data-testid="user"]').waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await panel?.stop();
    await engine?.stop();
    rmSync(certDir, { recursive: true, force: true });
  }, 60_000);

  const card = (id: string) => page.locator(`[data-testid="env-card"][data-id="${id}"]`);
  const hash = () => new URL(page.url()).hash;
  const pem = (f: string) => readFileSync(join(certDir, "client", f), "utf8");

  it("shows the local engine with its status and counts, linked from the top bar", async () => {
    await page.locator('[data-testid="nav-home"]').click();
    await page.waitForFunction(() => location.hash === "#/envs");
    await card("local").waitFor();
    expect(await card("local").getAttribute("data-status")).toBe("up");
    await card("local")
      .locator('[data-testid="env-counts"]')
      .filter({ hasText: /\d+ running, \d+ stopped/ })
      .waitFor();
  });

  it("adds an engine over TCP with its client certificate through the form; it comes up live", async () => {
    const form = page.locator('[data-testid="env-add"]');
    await form.locator('input[name="env_name"]').fill("edge-b");
    await form.locator('input[name="env_url"]').fill(engine!.tcpUrl);
    await form.locator('input[name="env_tags"]').fill("edge, lab");
    await form.locator("summary").click();
    await form.locator('textarea[name="tls_ca"]').fill(pem("ca.pem"));
    await form.locator('textarea[name="tls_cert"]').fill(pem("cert.pem"));
    await form.locator('textarea[name="tls_key"]').fill(pem("key.pem"));
    await form.getByRole("button", { name: "Add environment" }).click();
    // The `envs` topic brings it to the page, no reload; then its engine answers.
    await card("edge-b").waitFor({ timeout: 15_000 });
    await page
      .locator('[data-testid="env-card"][data-id="edge-b"][data-status="up"]')
      .waitFor({ timeout: 30_000 });
    expect(await form.locator('textarea[name="tls_key"]').inputValue()).toBe("");
    await card("edge-b")
      .locator('[data-testid="env-counts"]')
      .filter({ hasText: "1 running, 0 stopped" })
      .waitFor({ timeout: 20_000 });
    // CPU and memory from the collector that the panel runs for that engine.
    await card("edge-b")
      .locator('[data-testid="env-mem"]')
      .filter({ hasText: /\d/ })
      .waitFor({ timeout: 20_000 });
    expect(await card("edge-b").locator('[data-testid="env-tag"]').allTextContents()).toEqual([
      "edge",
      "lab",
    ]);
    // Never the key, anywhere the API answers.
    const envs = await (
      await fetch(`${panel!.url}/api/v1/envs`, { headers: { authorization: `Bearer ${token}` } })
    ).text();
    expect(envs).not.toContain("PRIVATE KEY");
  }, 60_000);

  it("filters by tag, and keeps the filter in the address", async () => {
    await page.locator('[data-testid="tag-filter"][data-tag="lab"]').click();
    await expect.poll(() => page.locator('[data-testid="env-card"]').count()).toBe(1);
    expect(await card("edge-b").count()).toBe(1);
    expect(hash()).toBe("#/envs?tag=lab");
    await page.locator('[data-testid="tag-all"]').click();
    await expect.poll(() => page.locator('[data-testid="env-card"]').count()).toBe(2);
  });

  it("enters an environment, and the switcher keeps the page kind across engines", async () => {
    await card("edge-b").locator('[data-testid="env-enter"]').click();
    await page.waitForFunction(() => location.hash === "#/envs/edge-b/containers");
    await page
      .locator(
        `[data-testid="container-row"][data-name="${containerName}"] a[href="#/envs/edge-b/containers/${containerId}"]`,
      )
      .waitFor();
    const switcher = page.locator('[data-testid="env-switcher"]');
    await page.locator('[data-testid="nav-networks"]').click();
    await page.waitForFunction(() => location.hash === "#/envs/edge-b/networks");
    await switcher.selectOption("local");
    await page.waitForFunction(() => location.hash === "#/envs/local/networks");
    await page.locator('[data-testid="nav-volumes"]').click();
    await switcher.selectOption("edge-b");
    await page.waitForFunction(() => location.hash === "#/envs/edge-b/volumes");
  });

  it("renames and tags an engine in place, and removes it after a confirmation that names it", async () => {
    await page.locator('[data-testid="nav-home"]').click();
    await card("edge-b").locator('[data-action="edit"]').click();
    const edit = card("edge-b").locator('[data-testid="env-edit"]');
    await edit.locator('input[name="env_name"]').fill("edge-lab");
    await edit.locator('input[name="env_tags"]').fill("edge");
    await edit.locator('[data-action="save"]').click();
    await card("edge-b").locator('[data-testid="env-name"]').filter({ hasText: "edge-lab" }).waitFor();
    expect(await card("edge-b").locator('[data-testid="env-tag"]').allTextContents()).toEqual(["edge"]);
    // The switcher follows, live.
    await page
      .locator('[data-testid="env-switcher"] option', { hasText: "edge-lab" })
      .waitFor({ state: "attached" });

    await card("edge-b").locator('[data-action="remove"]').click();
    const dialog = page.locator("dialog");
    expect(await dialog.locator("h2").textContent()).toBe("Remove the environment edge-lab?");
    await dialog.locator('[data-testid="confirm"]').click();
    await card("edge-b").waitFor({ state: "detached" });
    // The engine itself is untouched.
    expect(engine!.docker("inspect", "-f", "{{.State.Status}}", containerId)).toBe("running");
    expect(problems).toEqual([]);
  }, 30_000);
});
