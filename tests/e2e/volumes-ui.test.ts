import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import {
  cleanupEngine,
  docker,
  inVolume,
  PREFIX,
  RUN_LABEL,
  TEST_IMAGE,
  uniqueName,
} from "../helpers/engine.ts";
import { launchChromium, logIn, newPage, watchProblems } from "./browser.ts";

const contents = (volume: string) =>
  inVolume(
    volume,
    "cd /v && find . -type f -exec sha256sum {} + | sort -k2; find . -type l -exec ls -l {} + | awk '{print $(NF-2), $NF}'",
    true,
  );

// The built binary, its embedded UI, Chromium and the real engine: a volume made, browsed, backed
// up, emptied and restored the way a user would.
describe("volumes in Chromium, from dist/ghostpanel", () => {
  let panel: BinaryPanel;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const name = uniqueName("ui-vol");

  beforeAll(async () => {
    panel = await startBinary(["--tls", "off"]);
    browser = await launchChromium();
    page = await newPage(browser);
    watchProblems(page, problems);
    await page.goto(panel.url);
    await logIn(page, "admin", "e2e-volumes-password");
    await page.locator('[data-testid="nav-volumes"]').waitFor({ timeout: 30_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await panel?.stop();
    cleanupEngine();
    for (const v of docker("volume", "ls", "-q", "--filter", `name=${PREFIX}`).split("\n"))
      if (v) docker("volume", "rm", "-f", v);
  });

  it("lists a volume made with the CLI without a reload, and makes one from the form", async () => {
    await page.locator('[data-testid="nav-volumes"]').click();
    const cli = uniqueName("ui-cli");
    docker("volume", "create", "--label", RUN_LABEL, cli);
    await page.locator(`[data-testid="volume-row"][data-name="${cli}"]`).waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="create-volume"]').click();
    await page.locator('input[name="volume-name"]').fill(name);
    await page.locator('textarea[name="volume-labels"]').fill(RUN_LABEL);
    await page.locator('[data-testid="confirm"]').click();
    await page.locator('[data-testid="volume-name"]').filter({ hasText: name }).waitFor({ timeout: 10_000 });
    expect(JSON.parse(docker("volume", "inspect", name))[0].Labels).toMatchObject({
      [RUN_LABEL.split("=")[0]!]: RUN_LABEL.split("=")[1],
    });
  }, 60_000);

  it("browses the volume's files and downloads one", async () => {
    docker(
      "run",
      "--rm",
      "--label",
      RUN_LABEL,
      "-v",
      `${name}:/d`,
      TEST_IMAGE,
      "sh",
      "-c",
      "mkdir -p /d/docs/deep && echo hello > /d/docs/hello.txt && head -c 100000 /dev/urandom > /d/blob.bin && ln -s docs/hello.txt /d/link && : > /d/empty",
    );
    // The listing was read when the page opened: open it again.
    await page.reload();
    const row = (n: string) => page.locator(`[data-testid="file-row"][data-name="${n}"]`);
    await row("docs").waitFor({ timeout: 15_000 });
    expect(await row("link").getAttribute("data-type")).toBe("symlink");
    await row("docs").locator("button").click();
    await row("hello.txt").waitFor({ timeout: 15_000 });
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      row("hello.txt").locator('[data-testid="download"]').click(),
    ]);
    expect(download.suggestedFilename()).toBe("hello.txt");
    expect(readFileSync((await download.path())!, "utf8")).toBe("hello\n");
  }, 60_000);

  it("backs the volume up, and restores it (verified) after it was emptied", async () => {
    const before = contents(name);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.locator('[data-testid="backup"]').click(),
    ]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^${name}-.*\\.tar\\.gz$`));
    const backup = (await download.path())!;
    expect([...readFileSync(backup).subarray(0, 2)]).toEqual([0x1f, 0x8b]);

    docker(
      "run",
      "--rm",
      "--label",
      RUN_LABEL,
      "-v",
      `${name}:/d`,
      TEST_IMAGE,
      "sh",
      "-c",
      "rm -rf /d/* && echo other > /d/left-over",
    );
    await page.locator('[data-testid="restore"]').click();
    await page.locator('[data-testid="restore-file"]').setInputFiles(backup);
    await page.locator('input[name="replace"]').check();
    await page.locator('[data-testid="confirm"]').click();
    await page.locator('[data-testid="restore-done"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('[data-testid="restore-done"]').textContent()).toContain("verified");
    expect(contents(name)).toBe(before);
    await page.locator('[data-testid="confirm"]').click();
  }, 90_000);

  it("removes the volume after a confirmation that names it", async () => {
    await page.locator('[data-testid="remove-volume"]').click();
    const dialog = page.locator("dialog[open]");
    expect(await dialog.textContent()).toContain(name);
    await page.locator('[data-testid="confirm"]').click();
    await page.locator('[data-testid="volume-count"]').waitFor({ timeout: 10_000 });
    expect(docker("volume", "ls", "-q", "--filter", `name=^${name}$`)).toBe("");
    expect(problems).toEqual([]);
  }, 30_000);
});
