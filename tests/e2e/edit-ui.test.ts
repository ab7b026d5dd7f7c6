import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import {
  cleanupEngine,
  docker,
  eventually,
  RUN_ID,
  RUN_LABEL,
  runContainer,
  TEST_IMAGE,
  uniqueName,
} from "../helpers/engine.ts";
import { cleanupNetworks } from "../helpers/networks.ts";
import { startRegistry, type TestRegistry } from "../helpers/registry-server.ts";
import { launchChromium, logIn, newPage, watchProblems } from "./browser.ts";

const inspect = (ref: string) => JSON.parse(docker("inspect", ref))[0];

// Editing a container and pulling a missing image from the create form, in Chromium against the
// built binary; what counts is what `docker inspect` shows.
describe("edit and pull-then-create in Chromium, from dist/ghostpanel", () => {
  let panel: BinaryPanel;
  let registry: TestRegistry;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const net = uniqueName("uinet");
  const volume = uniqueName("uivol");
  let remote = "";

  beforeAll(async () => {
    [panel, registry] = await Promise.all([startBinary(["--tls", "off"]), startRegistry()]);
    docker("network", "create", "--label", RUN_LABEL, net);
    docker("volume", "create", "--label", RUN_LABEL, volume);
    remote = `${registry.host}/gptest-${RUN_ID}/form-pulled:1`;
    docker("tag", TEST_IMAGE, remote);
    docker("push", remote);
    docker("rmi", remote);
    browser = await launchChromium();
    page = await newPage(browser);
    watchProblems(page, problems, false);
    await page.goto(panel.url);
    await logIn(page, "admin", "edit-password-123");
    await page.locator('[data-testid="new-container"]').waitFor({ timeout: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await panel?.stop();
    await registry?.stop();
    cleanupEngine();
    cleanupNetworks();
    for (const ref of [remote]) {
      try {
        docker("rmi", "-f", ref);
      } catch {}
    }
    try {
      docker("volume", "rm", "-f", volume);
    } catch {}
  }, 60_000);

  /** The container's edit form, once the panel lists it and the form is filled from it. */
  const openEdit = async (name: string) => {
    const id = inspect(name).Id;
    await page.goto(`${panel.url}/#/envs/local/containers/${id}`);
    await page.locator('[data-testid="edit"]').click();
    await page.waitForURL(/\/create\/[0-9a-f]{64}\/edit$/);
    await eventually(
      async () =>
        (await page.locator('input[name="image"]').inputValue()) === TEST_IMAGE ? true : undefined,
      20_000,
      "the form filled from the container",
    );
    return page.locator('[data-testid="create-form"]');
  };

  it("edits env and a port: the diff shows them, applying makes it again with the same name, network and volume", async () => {
    const name = uniqueName("uiedit");
    const before = inspect(
      runContainer(
        name,
        ["sleep", "3600"],
        ["--network", net, "-e", "MODE=old", "-p", "127.0.0.1::8080", "-v", `${volume}:/data`],
      ),
    );
    const form = await openEdit(name);
    const env = form.locator('textarea[name="env"]');
    // Under load the image can show before the rest of the form is filled in.
    await eventually(
      async () => ((await env.inputValue()).includes("MODE=old") ? true : undefined),
      20_000,
      "the env filled from the container",
    );
    await env.fill((await env.inputValue()).replace("MODE=old", "MODE=new"));
    await form.getByLabel("Container port").fill("9090");
    await form.locator('button[type="submit"]').click();
    const diff = page.locator('[data-testid="edit-diff"]');
    await diff.waitFor();
    const fields = await diff
      .locator("tr[data-field]")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-field")));
    expect(fields.sort()).toEqual(["env", "ports"]);
    expect(await diff.locator('tr[data-field="env"] .diff-old').textContent()).toContain("MODE=old");
    expect(await diff.locator('tr[data-field="env"] .diff-new').textContent()).toContain("MODE=new");
    expect(await diff.locator('tr[data-field="ports"] .diff-new').textContent()).toContain("9090");
    expect(await page.locator('[data-testid="edit-how"]').textContent()).toMatch(/made again/);
    // Nothing is applied before Apply.
    expect(inspect(name).Id).toBe(before.Id);
    await page.locator('[data-testid="apply-edit"]').click();
    await page.waitForURL(new RegExp(`#/envs/local/containers/(?!${before.Id})[0-9a-f]{64}$`), {
      timeout: 60_000,
    });
    const after = inspect(name);
    expect(after.Id).not.toBe(before.Id);
    expect(page.url()).toContain(after.Id);
    expect(after.State.Running).toBe(true);
    expect(after.Config.Env).toContain("MODE=new");
    expect(Object.keys(after.HostConfig.PortBindings)).toEqual(["9090/tcp"]);
    expect(Object.keys(after.NetworkSettings.Networks)).toEqual([net]);
    expect(
      after.Mounts.map((m: { Name: string; Destination: string }) => `${m.Name}:${m.Destination}`),
    ).toEqual([`${volume}:/data`]);
  }, 120_000);

  it("changes only limits in place: the container keeps its id and the engine has the new values", async () => {
    const name = uniqueName("uilimits");
    const id = runContainer(name, ["sleep", "3600"], ["--memory", "64m"]);
    const form = await openEdit(name);
    await form.locator('input[name="memory"]').fill("96m");
    await form.locator('input[name="pids"]').fill("64");
    await form.locator('select[name="restart"]').selectOption("always");
    await form.locator('button[type="submit"]').click();
    const diff = page.locator('[data-testid="edit-diff"]');
    await diff.waitFor();
    const fields = await diff
      .locator("tr[data-field]")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-field")));
    expect(fields.sort()).toEqual(["memory", "pids", "restart"]);
    expect(await page.locator('[data-testid="edit-how"]').textContent()).toMatch(/in place/);
    await page.locator('[data-testid="apply-edit"]').click();
    await page.waitForURL(new RegExp(`#/envs/local/containers/${id}$`), { timeout: 30_000 });
    const after = inspect(name);
    expect(after.Id).toBe(id);
    expect(after.State.Running).toBe(true);
    expect(after.HostConfig.Memory).toBe(96 * 1024 * 1024);
    expect(after.HostConfig.PidsLimit).toBe(64);
    expect(after.HostConfig.RestartPolicy.Name).toBe("always");
  }, 60_000);

  it("offers to pull an image the engine lacks, shows the pull, then creates", async () => {
    const name = uniqueName("uipull");
    await page.goto(`${panel.url}/#/envs/local/create`);
    const form = page.locator('[data-testid="create-form"]');
    await form.locator('input[name="image"]').fill(remote);
    await form.locator('input[name="name"]').fill(name);
    await form.locator('input[name="cmd"]').fill("sleep 3600");
    await form.locator('textarea[name="labels"]').fill(RUN_LABEL);
    await form.locator('button[type="submit"]').click();
    await page
      .locator('[data-testid="create-error"]', { hasText: "has no image" })
      .waitFor({ timeout: 20_000 });
    expect(() => docker("image", "inspect", remote)).toThrow();
    await page.locator('[data-testid="pull-missing"]').click();
    // The pull's job shows in the form, as it goes.
    await page.locator('[data-testid="job"]', { hasText: remote }).waitFor({ timeout: 20_000 });
    await page.waitForURL(/#\/envs\/local\/containers\/[0-9a-f]{64}$/, { timeout: 60_000 });
    const made = inspect(name);
    expect(made.Config.Image).toBe(remote);
    expect(made.State.Running).toBe(true);
    expect(docker("image", "inspect", "-f", "{{.Id}}", remote)).toMatch(/^sha256:/);
    expect(problems).toEqual([]);
  }, 120_000);
});
