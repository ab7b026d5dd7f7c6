import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, docker, eventually, PREFIX, RUN_LABEL, TEST_IMAGE } from "../helpers/engine.ts";
import { ADMIN, tokenFor } from "../helpers/panel.ts";
import {
  dockerAsync,
  dockerConfigFor,
  startRegistry,
  type TestRegistry,
} from "../helpers/registry-server.ts";
import { launchChromium, logIn, newPage, watchProblems } from "./browser.ts";

/** An image of the test image plus a label, tagged `ref`; its id. */
async function build(ref: string, version: string): Promise<string> {
  const dir = `/tmp/${PREFIX}ui-build-${version}-${Date.now()}`;
  await Bun.write(`${dir}/Dockerfile`, `FROM ${TEST_IMAGE}\nLABEL gptest.version=${version}\n`);
  try {
    return docker("build", "-q", "--label", RUN_LABEL, "-t", ref, dir);
  } finally {
    Bun.spawnSync(["rm", "-rf", dir]);
  }
}

describe("registries and image updates in Chromium, from dist/ghostpanel", () => {
  let panel: BinaryPanel;
  let registry: TestRegistry;
  let cli: ReturnType<typeof dockerConfigFor>;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const tag = Math.random().toString(36).slice(2, 8);
  const name = `${PREFIX}ui-upd-${tag}`;
  const repository = `${PREFIX}ui-app-${tag}`.toLowerCase();
  let ref = "";
  let token = "";

  beforeAll(async () => {
    [panel, registry] = await Promise.all([
      startBinary(["--tls", "off"]),
      startRegistry({ auth: "htpasswd" }),
    ]);
    token = await tokenFor(panel.url, ADMIN, "e2e", "setup");
    cli = dockerConfigFor(registry);
    ref = `${registry.host}/${repository}:1`;
    await build(ref, "1");
    await dockerAsync(...cli.args, "push", ref);
    docker("run", "-d", "--name", name, "--label", RUN_LABEL, ref, "sleep", "3600");
    browser = await launchChromium();
    page = await newPage(browser);
    watchProblems(page, problems, false);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await panel?.stop();
    cleanupEngine();
    cli?.remove();
    await registry?.stop();
    Bun.spawnSync(["docker", "rmi", ref]);
    Bun.spawnSync(["docker", "image", "prune", "-a", "-f", "--filter", `label=${RUN_LABEL}`]);
  }, 120_000);

  it("adds a registry after a refused and an accepted login test, and browses it", async () => {
    await page.goto(panel.url);
    await logIn(page, ADMIN.username, ADMIN.password);
    await page.locator('[data-testid="nav-registries"]').click();
    const form = page.locator('[data-testid="new-registry"]');
    await form.locator('input[name="name"]').fill(`${PREFIX}ui-${tag}`);
    await form.locator('input[name="url"]').fill(registry.url);
    await form.locator('input[name="username"]').fill(registry.username);
    await form.locator('input[name="password"]').fill("not-the-password");
    await form.locator('[data-action="test-new"]').click();
    await page.getByRole("alert").getByText("the registry refused the login").waitFor();
    await form.locator('input[name="password"]').fill(registry.password);
    await form.locator('[data-action="test-new"]').click();
    await form.locator('[data-testid="test-result"]').getByText("took the login").waitFor();
    await form.locator('button[type="submit"]').click();
    const entry = page.locator(`[data-testid="registry"][data-name="${PREFIX}ui-${tag}"]`);
    await entry.waitFor();
    expect(await entry.locator('[data-testid="registry-login"]').textContent()).toBe(
      `${registry.username} (password stored)`,
    );
    expect(await page.content()).not.toContain(registry.password);
    await entry.locator('[data-action="browse"]').click();
    await entry.locator(`[data-testid="repository"][data-name="${repository}"] button`).click();
    expect(await entry.locator('[data-testid="tags"]').textContent()).toBe("1");
  }, 60_000);

  it("shows update available on the list and the page, and recreates on the newer image", async () => {
    const before = docker("inspect", "-f", "{{.Image}}", name);
    // Another image under the same tag, as pushed from elsewhere: the tag goes back to the old one here.
    const newer = await build(ref, "2");
    await dockerAsync(...cli.args, "push", ref);
    docker("tag", before, ref);
    docker("rmi", newer);
    await page.goto(`${panel.url}/#/envs/local/containers`);
    const row = page.locator(`[data-testid="container-row"][data-name="${name}"]`);
    await row.waitFor();
    // On-demand checks through the API (one answered within the last seconds is reused: polled,
    // boundedly); the list follows them live (updates:local).
    await eventually(
      async () => {
        const checked = await fetch(`${panel.url}/api/v1/envs/local/updates/check?container=${name}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
        });
        const answer = (await checked.json()) as { name: string; status: string }[];
        return answer.find((u) => u.name === name)?.status === "available" ? true : undefined;
      },
      30_000,
      "update available",
    );
    await row.locator('[data-testid="update-available"]').waitFor({ timeout: 20_000 });
    await row.locator(".c-name a").click();
    const panelPart = page.locator('[data-testid="update-panel"]');
    await panelPart.locator('[data-testid="update-available"]').waitFor();
    await panelPart.locator('[data-action="recreate"]').click();
    await page.locator('[data-testid="confirm"]').click();
    await panelPart.getByText("was recreated on the newer image").waitFor({ timeout: 60_000 });
    const after = docker("inspect", "-f", "{{.Image}}", name);
    expect(after).not.toBe(before);
    expect(after).toBe(docker("image", "inspect", "-f", "{{.Id}}", ref));
    expect(problems).toEqual([]);
  }, 120_000);
});
