import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, docker, PREFIX, RUN_LABEL, TEST_IMAGE, uniqueName } from "../helpers/engine.ts";
import { launchChromium } from "./browser.ts";

interface Inspect {
  Name: string;
  State: { Status: string };
  Config: { Env: string[]; Image: string; Cmd: string[]; Labels: Record<string, string> };
  HostConfig: {
    Memory: number;
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
    Binds: string[] | null;
    RestartPolicy: { Name: string };
  };
}

const inspect = (name: string): Inspect => JSON.parse(docker("inspect", name))[0];

// The create form of the built binary in Chromium, checked by what the engine made.
describe("creating containers in Chromium, from dist/ghostpanel", () => {
  let panel: BinaryPanel;
  let browser: Browser;
  let page: Page;
  const volume = `${PREFIX}formvol`;

  beforeAll(async () => {
    panel = await startBinary(["--tls", "off"]);
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    await page.goto(panel.url);
    await page.locator('input[name="username"]').fill("admin");
    await page.locator('input[name="password"]').fill("create-password-123");
    await page.locator('button[type="submit"]').click();
    await page.locator('[data-testid="new-container"]').waitFor({ timeout: 30_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await panel?.stop();
    cleanupEngine();
    try {
      docker("volume", "rm", "-f", volume);
    } catch {}
  });

  it("creates and starts a container with ports, env, a volume and a memory limit", async () => {
    const name = uniqueName("form");
    await page.locator('[data-testid="new-container"]').click();
    const form = page.locator('[data-testid="create-form"]');
    await form.locator('input[name="image"]').fill(TEST_IMAGE);
    await form.locator('input[name="name"]').fill(name);
    await form.locator('input[name="cmd"]').fill("sleep 3600");
    await form.locator('textarea[name="env"]').fill("export GREETING='hello world'\n# a comment\nMODE=test");
    await form.getByRole("button", { name: "Add a port" }).click();
    await form.getByLabel("Host address").fill("127.0.0.1");
    await form.getByLabel("Host port").fill("0");
    await form.getByLabel("Container port").fill("8080");
    await form.getByRole("button", { name: "Add a volume" }).click();
    await form.getByLabel("Source").fill(volume);
    await form.getByLabel("Path in the container").fill("/data");
    await form.locator('input[name="memory"]').fill("64m");
    await form.locator('select[name="restart"]').selectOption("unless-stopped");
    await form.locator('textarea[name="labels"]').fill(`${RUN_LABEL}\ntier=web`);
    await form.locator('button[type="submit"]').click();
    // To the new container's page once it runs.
    await page.waitForURL(/#\/envs\/local\/containers\/[0-9a-f]{64}$/, { timeout: 20_000 });

    const made = inspect(name);
    expect(made.State.Status).toBe("running");
    expect(made.Config.Image).toBe(TEST_IMAGE);
    expect(made.Config.Cmd).toEqual(["sleep", "3600"]);
    expect(made.Config.Env).toEqual(expect.arrayContaining(["GREETING=hello world", "MODE=test"]));
    expect(made.Config.Labels).toMatchObject({ tier: "web" });
    expect(made.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(made.HostConfig.PortBindings).toEqual({ "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "0" }] });
    expect(made.HostConfig.Binds).toEqual([`${volume}:/data`]);
    expect(made.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
  });

  it("round-trips a docker run line: pasted, shown back, created as written", async () => {
    const name = uniqueName("pasted");
    const line = `docker run -d --name ${name} -e 'A=one two' -l ${RUN_LABEL} --memory 32m --restart on-failure:2 ${TEST_IMAGE} sh -c 'echo "hi there"; sleep 3600'`;
    await page.goto(`${panel.url}/#/envs/local/create`);
    await page.getByText("Fill from a docker run command").click();
    await page.locator('[data-testid="docker-run-input"]').fill(line);
    await page.locator('[data-testid="docker-run-fill"]').click();
    const shown = await page.locator('[data-testid="docker-run-output"]').textContent();
    expect(shown).toBe(
      `docker run -d --name ${name} -e 'A=one two' --restart on-failure:2 --memory 32m --label ${RUN_LABEL} ${TEST_IMAGE} sh -c 'echo "hi there"; sleep 3600'`,
    );
    await page.locator('[data-testid="create-form"] button[type="submit"]').click();
    await page.waitForURL(/#\/envs\/local\/containers\/[0-9a-f]{64}$/, { timeout: 20_000 });
    const made = inspect(name);
    expect(made.Config.Cmd).toEqual(["sh", "-c", 'echo "hi there"; sleep 3600']);
    expect(made.Config.Env).toContain("A=one two");
    expect(made.HostConfig.Memory).toBe(32 * 1024 * 1024);
    // And the container's page gives the line back.
    await page.getByRole("tab", { name: "Inspect" }).click();
    await page.getByText("As a docker run command").click();
    const again = await page.locator('[data-testid="docker-run-of"]').textContent();
    expect(again).toContain(`--name ${name}`);
    expect(again).toContain("--memory 32m");
    expect(again).toContain(`sh -c 'echo "hi there"; sleep 3600'`);
  });

  it("says why before creating: a taken host port, a missing image", async () => {
    const holder = uniqueName("holder");
    docker(
      "run",
      "-d",
      "--name",
      holder,
      "--label",
      `${RUN_LABEL}`,
      "-p",
      "127.0.0.1:0:80",
      TEST_IMAGE,
      "sleep",
      "3600",
    );
    const port = docker("port", holder, "80").split(":").at(-1)!.trim();
    await page.goto(`${panel.url}/#/envs/local/create`);
    await page.getByText("Fill from a docker run command").click();
    await page
      .locator('[data-testid="docker-run-input"]')
      .fill(`docker run -p 127.0.0.1:${port}:80 -l ${RUN_LABEL} ${TEST_IMAGE} sleep 1`);
    await page.locator('[data-testid="docker-run-fill"]').click();
    await page.locator('[data-testid="create-form"] button[type="submit"]').click();
    const error = page.locator('[data-testid="create-error"]');
    await error.waitFor();
    expect(await error.textContent()).toContain(
      `host port ${port}/tcp is already published by container "${holder}"`,
    );

    await page.locator('[data-testid="docker-run-input"]').fill(`docker run ${PREFIX}missing:1`);
    await page.locator('[data-testid="docker-run-fill"]').click();
    await page.locator('[data-testid="create-form"] button[type="submit"]').click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="create-error"]')?.textContent?.includes("has no image"),
      undefined,
      { timeout: 10_000 },
    );
    // …and offers the pull (tests/e2e/edit-ui.test.ts follows it through).
    expect(await page.locator('[data-testid="pull-missing"]').textContent()).toContain(`${PREFIX}missing:1`);
  });
});
