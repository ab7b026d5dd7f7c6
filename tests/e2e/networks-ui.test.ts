import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, docker, RUN_LABEL, runContainer, uniqueName } from "../helpers/engine.ts";
import { cleanupNetworks, inspectNetwork, networkExists, testSubnet } from "../helpers/networks.ts";
import { launchChromium, logIn, newPage, watchProblems } from "./browser.ts";

// The built binary, its embedded UI, Debian's Chromium and the real engine.
describe("networks and the System page in Chromium, from dist/ghostpanel", () => {
  let panel: BinaryPanel;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    panel = await startBinary(["--tls", "off"]);
    browser = await launchChromium();
    page = await newPage(browser);
    watchProblems(page, problems, false);
    await page.goto(panel.url);
    await logIn(page, "admin", "e2e-password-123");
    await page.locator('[data-testid="nav-networks"]').waitFor({ timeout: 30_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await panel?.stop();
    cleanupEngine();
    cleanupNetworks();
  });

  const row = (name: string) => page.locator(`[data-testid="network-row"][data-name="${name}"]`);

  it("creates a network through the form and sees it in the live list, as the engine made it", async () => {
    await page.locator('[data-testid="nav-networks"]').click();
    await row("bridge").waitFor({ timeout: 15_000 });
    const name = uniqueName("ui");
    const net = testSubnet(40);
    await page.locator('[data-testid="create-network"]').click();
    const dialog = page.locator("dialog");
    await dialog.locator('input[name="name"]').fill(name);
    await dialog.locator('input[name="subnet"]').fill(net.subnet);
    await dialog.locator('input[name="gateway"]').fill(net.gateway);
    await dialog.locator('input[name="internal"]').check();
    await dialog.locator('textarea[name="labels"]').fill(RUN_LABEL);
    await dialog.locator('[data-testid="confirm"]').click();
    await row(name).waitFor({ timeout: 10_000 });
    expect(await row(name).textContent()).toContain(net.subnet);
    const engine = inspectNetwork(name);
    expect(engine).toMatchObject({ Driver: "bridge", Internal: true });
    expect(engine.IPAM.Config[0]).toMatchObject({ Subnet: net.subnet, Gateway: net.gateway });

    // A taken name: the dialog stays and says so.
    await page.locator('[data-testid="create-network"]').click();
    await dialog.locator('input[name="name"]').fill(name);
    await dialog.locator('[data-testid="confirm"]').click();
    await expect_text(
      page.locator('[data-testid="create-error"]'),
      `a network named "${name}" already exists`,
    );
    await dialog.locator('[data-testid="cancel"]').click();
  });

  it("shows a network made with the CLI without a reload, with the containers attached, and removes it after naming them", async () => {
    const name = uniqueName("cli");
    docker("network", "create", "--label", RUN_LABEL, name);
    await row(name).waitFor({ timeout: 10_000 });
    const box = uniqueName("box");
    runContainer(box, ["sleep", "3600"], ["--network", name]);
    await page.waitForFunction(
      (n) =>
        document.querySelector(
          `[data-testid="network-row"][data-name="${n}"] [data-testid="network-containers"]`,
        )?.textContent === "1",
      name,
      { timeout: 10_000 },
    );
    await row(name).locator('[data-action="remove-network"]').click();
    await expect_text(page.locator('[data-testid="remove-attached"]'), box);
    await page.locator('[data-testid="confirm"]').click();
    // The engine refused: the page-wide alert names the container, and the network stays.
    await expect_text(page.locator(".toast"), `still has 1 container attached: ${box}`);
    expect(networkExists(name)).toBe(true);
    docker("rm", "-f", box);
    await row(name).locator('[data-action="remove-network"]').click();
    await page.locator('[data-testid="confirm"]').click();
    await row(name).waitFor({ state: "detached", timeout: 10_000 });
    expect(networkExists(name)).toBe(false);
  });

  it("shows the engine's disk use and its events live on the System page, filtered by container", async () => {
    await page.locator('[data-testid="nav-system"]').click();
    await page.locator('[data-testid="disk-use"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid="engine-info"]').textContent()).toContain(
      docker("version", "-f", "{{.Server.Version}}"),
    );
    const box = uniqueName("evbox");
    await page.locator('[data-testid="event-container"]').fill(box);
    runContainer(box);
    await page.locator('[data-testid="events"] tr[data-action="start"]').waitFor({ timeout: 10_000 });
    const shown = await page.locator('[data-testid="events"] tbody tr td:nth-child(5)').allTextContents();
    expect(new Set(shown)).toEqual(new Set([box]));
    await page.screenshot({ path: "/tmp/gp-system-page.png", fullPage: true });
    expect(problems).toEqual([]);
  });
});

async function expect_text(locator: ReturnType<Page["locator"]>, text: string): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: 10_000 });
}
