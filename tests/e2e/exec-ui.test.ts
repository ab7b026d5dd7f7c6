import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, docker, eventually, runContainer, uniqueName } from "../helpers/engine.ts";
import { launchChromium, logIn, newPage, watchProblems } from "./browser.ts";

// A shell in a container as a user gets it: the Terminal tab of the built binary's UI, under its CSP.
describe("the terminal in Chromium, from dist/ghostpanel", () => {
  let panel: BinaryPanel;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const requested: string[] = [];
  const name = uniqueName("term");
  let id = "";

  beforeAll(async () => {
    id = runContainer(name, ["sleep", "3600"], ["--network", "none"]);
    panel = await startBinary(["--tls", "auto"]);
    browser = await launchChromium();
    page = await newPage(browser);
    watchProblems(page, problems);
    page.on("request", (r) => requested.push(new URL(r.url()).pathname));
    await page.goto(panel.url);
    await logIn(page, "admin", "e2e-password-123");
    await page.locator('[data-testid="user"]').waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await panel?.stop();
    cleanupEngine();
  });

  const shells = () =>
    docker("top", name, "-o", "pid,args")
      .split("\n")
      .filter((line) => /\bsh\s*$/.test(line)).length;

  it("runs what is typed in the Terminal tab, and xterm loads only then", async () => {
    await page.goto(`${panel.url}/#/containers/${id}`);
    await page.locator('[data-tab="logs"]').waitFor();
    expect(requested.filter((p) => /terminal|xterm/.test(p))).toEqual([]);
    await page.locator('[data-tab="terminal"]').click();
    // What to run is chosen first: sh as the image's user unless told otherwise.
    await page.locator('[data-testid="terminal-open"]').click();
    await page.getByText("Connected: sh as the image's user").waitFor({ timeout: 15_000 });
    expect(requested.some((p) => /\/terminal-\w+\.js$/.test(p))).toBe(true);
    await page.locator(".terminal .xterm").click();
    await page.keyboard.type("echo hi-$((2+3))");
    await page.keyboard.press("Enter");
    await page.locator(".xterm-rows", { hasText: "hi-5" }).waitFor({ timeout: 10_000 });
    // xterm's own rules, moved into constructable style sheets, apply.
    const display = await page
      .locator(".xterm-rows span")
      .first()
      .evaluate((el) => getComputedStyle(el).display);
    expect(display).toBe("inline-block");
    expect(shells()).toBe(1);
    await page.screenshot({ path: "test-results/terminal.png" });
  });

  it("ends the shell when the tab is left", async () => {
    await page.locator('[data-tab="logs"]').click();
    await eventually(() => (shells() === 0 ? true : undefined));
  });

  it("shows no Terminal tab to a viewer, even of the team that owns the container", async () => {
    const owned = runContainer(
      uniqueName("viewed"),
      ["sleep", "3600"],
      ["--label", "ghostpanel.team=watchers"],
    );
    const csrf = (await page.context().cookies()).find((c) => c.name === "gp_csrf")!.value;
    const post = async (method: "post" | "put", path: string, data: unknown) => {
      const res = await page.request[method](`${panel.url}/api/v1${path}`, {
        data,
        headers: { "x-csrf-token": csrf },
      });
      expect(res.ok()).toBe(true);
      return (await res.json()) as { id: number };
    };
    const viewer = await post("post", "/users", {
      username: "watcher",
      password: "e2e-password-123",
      role: "viewer",
    });
    const team = await post("post", "/teams", { name: "watchers" });
    await post("put", `/teams/${team.id}`, { members: [viewer.id] });
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const other = await context.newPage();
      await other.goto(panel.url);
      await logIn(other, "watcher", "e2e-password-123");
      await other.locator('[data-testid="user"]').waitFor();
      await other.goto(`${panel.url}/#/containers/${owned}`);
      await other.locator('[data-tab="logs"]').waitFor();
      expect(await other.locator('[data-tab="terminal"]').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it("logged no error and no CSP violation", () => {
    expect(problems).toEqual([]);
  });
});
