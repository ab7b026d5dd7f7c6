import { connect, createServer, type Server, type Socket } from "node:net";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, docker, eventually, runContainer, uniqueName } from "../helpers/engine.ts";
import { launchChromium, logIn, watchProblems } from "./browser.ts";

/** A loopback TCP relay in front of the panel whose connections can be cut, as a dropped network would. */
class Relay {
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  port = 0;

  async start(target: number): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(target, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Every open connection is reset; new ones go through. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  stop(): void {
    this.cut();
    this.server?.close();
  }
}

interface Inspect {
  Id: string;
  RestartCount: number;
  Config: { Image: string; Labels: Record<string, string> };
  State: { Health: { Status: string } };
  NetworkSettings: {
    Ports: Record<string, { HostIp: string; HostPort: string }[]>;
    Networks: Record<string, { IPAddress: string }>;
  };
  Mounts: { Name: string; Destination: string }[];
}
const inspect = (ref: string): Inspect => JSON.parse(docker("inspect", ref))[0];

// A container's page as a user reads it: the overview against `docker inspect`, the inspect tree,
// the terminal's choices and reconnection, and the theme, in the built binary's UI.
describe("a container's overview, inspect tree, terminal and the theme, in Chromium", () => {
  let panel: BinaryPanel;
  let browser: Browser;
  let page: Page;
  const relay = new Relay();
  let base = "";
  const problems: string[] = [];
  const name = uniqueName("detail");
  const volume = uniqueName("detailvol");
  let id = "";

  beforeAll(async () => {
    docker("volume", "create", volume);
    id = runContainer(
      name,
      ["sleep", "3600"],
      [
        "-e",
        "PLAIN_SETTING=hello-plain",
        "-e",
        "DB_PASSWORD=s3cret-value",
        "--label",
        "com.example.tier=blue-tier",
        "--label",
        "evil=<b>bold</b><img src=x>",
        "-v",
        `${volume}:/data`,
        "-p",
        "127.0.0.1::80",
        "--health-cmd",
        "echo checked-ok",
        "--health-interval",
        "1s",
        "--restart",
        "on-failure:3",
      ],
    );
    panel = await startBinary(["--tls", "off"]);
    await relay.start(Number(new URL(panel.url).port));
    base = `http://127.0.0.1:${relay.port}`;
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
    page = await context.newPage();
    watchProblems(page, problems);
    await page.goto(base);
    await logIn(page, "admin", "detail-password-123");
    await page.locator('[data-testid="user"]').waitFor();
    // Healthy once a check has passed: the overview then has a check's output to show.
    await eventually(() => (inspect(name).State.Health.Status === "healthy" ? true : undefined), 20_000);
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    relay.stop();
    await panel?.stop();
    cleanupEngine();
    docker("volume", "rm", "-f", volume);
  }, 180_000);

  it("lays out what docker inspect says, secrets hidden until revealed, the tab in the address", async () => {
    await page.goto(`${base}/#/containers/${id}/overview`);
    const overview = page.locator('[data-testid="overview"]');
    await overview.waitFor({ timeout: 60_000 });
    const truth = inspect(name);
    const fact = (f: string) => overview.locator(`[data-fact="${f}"]`).textContent();
    expect(await fact("status")).toBe("running");
    expect(await fact("restart-policy")).toBe("on-failure (at most 3 times)");
    expect(await fact("restart-count")).toBe(String(truth.RestartCount));
    expect(await fact("image")).toContain(truth.Config.Image);
    expect(await fact("command")).toBe("sleep 3600");
    expect(await fact("exit-code")).toBe("0");

    const env = overview.locator('[data-testid="env"]');
    expect(await env.locator('[data-key="PLAIN_SETTING"]').textContent()).toContain("hello-plain");
    const secret = env.locator('[data-key="DB_PASSWORD"]');
    expect(await secret.textContent()).not.toContain("s3cret-value");
    await secret.getByRole("button", { name: "Reveal the value of DB_PASSWORD" }).click();
    expect(await secret.textContent()).toContain("s3cret-value");

    const labels = overview.locator('[data-testid="labels"]');
    expect(await labels.locator('[data-key="com.example.tier"]').textContent()).toContain("blue-tier");
    // Engine text stays text: the label's markup is shown, never made into elements.
    expect(await labels.locator('[data-key="evil"] td').textContent()).toBe("<b>bold</b><img src=x>");
    expect(await overview.locator("b, img").count()).toBe(0);

    const mount = overview.locator('[data-testid="mounts"] [data-destination="/data"]');
    expect(await mount.textContent()).toContain(volume);
    const binding = truth.NetworkSettings.Ports["80/tcp"]![0]!;
    expect(await overview.locator('[data-testid="ports"] [data-port="80/tcp"]').textContent()).toContain(
      `127.0.0.1:${binding.HostPort}`,
    );
    const ip = truth.NetworkSettings.Networks.bridge!.IPAddress;
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(
      await overview.locator('[data-testid="networks"] [data-network="bridge"]').textContent(),
    ).toContain(ip);

    expect(await fact("health-status")).toBe("healthy");
    expect(await fact("failing-streak")).toBe("0");
    expect(await overview.locator('[data-testid="health-log"]').textContent()).toContain("checked-ok");

    // The tab is in the address: a reload opens the overview again.
    await page.reload();
    await page.locator('[role="tab"][data-tab="overview"][aria-selected="true"]').waitFor();
    await overview.waitFor();
  }, 180_000);

  it("searches the inspect JSON (highlight, jump), folds it, and copies the whole and one node", async () => {
    await page.locator('[data-tab="inspect"]').click();
    await page.waitForURL(/\/inspect$/);
    const tree = page.locator('[data-testid="inspect"]');
    await tree.locator('[data-path="Config.Labels"]').waitFor({ timeout: 60_000 });
    expect(await tree.locator("b, img").count()).toBe(0);

    // Fold everything, then a search opens just what holds its matches and jumps to the first.
    await page.locator('[data-testid="fold-all"]').click();
    expect(await tree.locator('[data-path="Config"] > details[open]').count()).toBe(0);
    await page.locator('[data-testid="inspect-search"]').fill("blue-tier");
    await expect.poll(() => page.locator('[data-testid="inspect-matches"]').textContent()).toBe("1 of 1");
    const current = tree.locator(".jt-current");
    expect(await current.getAttribute("data-path")).toBe("Config.Labels.com.example.tier");
    expect(await current.locator("mark").textContent()).toBe("blue-tier");
    await expect.poll(() => current.isVisible()).toBe(true);
    expect(
      await current.evaluate((el) => {
        const r = el.getBoundingClientRect();
        const box = el.closest(".jt")!.getBoundingClientRect();
        return r.top >= box.top && r.bottom <= box.bottom;
      }),
    ).toBe(true);

    // Several matches: Enter moves to the next one, which is scrolled into view.
    await page.locator('[data-testid="inspect-search"]').fill("checked-ok");
    await expect
      .poll(() => page.locator('[data-testid="inspect-matches"]').textContent())
      .toMatch(/^1 of \d+$/);
    const total = Number(
      (await page.locator('[data-testid="inspect-matches"]').textContent())?.split(" of ")[1],
    );
    expect(total).toBeGreaterThanOrEqual(2);
    const firstPath = await tree.locator(".jt-current").getAttribute("data-path");
    // The last letter typed, then Enter before the page draws its next frame (a fast hand, or a
    // slow page: a full run). The jump back to the first match used to come in an effect after
    // that frame, and undid the Enter.
    const search = page.locator('[data-testid="inspect-search"]');
    await search.fill("checked-o");
    await expect.poll(() => page.locator('[data-testid="inspect-matches"]').textContent()).toMatch(/^1 of /);
    await search.evaluate(async (input: HTMLInputElement) => {
      input.value = "checked-ok";
      input.dispatchEvent(new InputEvent("input", { bubbles: true, data: "k", inputType: "insertText" }));
      await new Promise((drawn) => setTimeout(drawn, 0));
      input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    });
    await expect
      .poll(() => page.locator('[data-testid="inspect-matches"]').textContent())
      .toBe(`2 of ${total}`);
    expect(await tree.locator(".jt-current").getAttribute("data-path")).not.toBe(firstPath);

    // Cleared: the folds come back; a click on a summary unfolds one node.
    await page.locator('[data-testid="inspect-search"]').fill("");
    expect(await tree.locator('[data-path="Config"] > details[open]').count()).toBe(0);
    await tree.locator('[data-path="Config"] > details > summary').click();
    await tree.locator('[data-path="Config.Labels"]').waitFor();
    await page.locator('[data-testid="unfold-all"]').click();
    await tree.locator('[data-path="State.Health"] > details[open]').waitFor();

    const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
    await page.locator('[data-testid="copy-all"]').click();
    await expect.poll(async () => JSON.parse(await clipboard()).Id).toBe(id);
    const labels = tree.locator('[data-path="Config.Labels"] > details > summary');
    await labels.hover();
    await labels.locator(".jt-copy").click();
    await expect.poll(async () => JSON.parse(await clipboard())).toEqual(inspect(name).Config.Labels);
  }, 180_000);

  it("opens a chosen command as a chosen user, and reconnects when the panel's connection drops", async () => {
    await page.goto(`${base}/#/containers/${id}/terminal`);
    await page.locator('input[name="what"][value="custom"]').check({ timeout: 60_000 });
    await page.locator('input[name="command"]').fill("sh -c 'echo started-as-$(id -u); exec sh'");
    await page.locator('input[name="user"]').fill("1234");
    await page.locator('[data-testid="terminal-open"]').click();
    const state = page.locator('[data-testid="terminal-state"]');
    await page.locator(".xterm-rows", { hasText: "started-as-1234" }).waitFor({ timeout: 60_000 });
    expect(await state.getAttribute("data-state")).toBe("open");
    expect(docker("exec", name, "ps", "-o", "user,args")).toMatch(/^\s*1234\s+sh\s*$/m);

    // The connection drops: one new session comes by itself, with the same command and user.
    relay.cut();
    await page
      .locator(".xterm-rows", { hasText: "connection to the panel lost" })
      .waitFor({ timeout: 10_000 });
    await page.locator(".xterm-rows", { hasText: "[a new session]" }).waitFor({ timeout: 20_000 });
    await expect.poll(() => state.getAttribute("data-state"), { timeout: 30_000 }).toBe("open");
    await expect
      .poll(
        async () => (await page.locator(".xterm-rows").textContent())?.match(/started-as-1234/g)?.length ?? 0,
        { timeout: 20_000 },
      )
      .toBe(2);
    // The old session was hung up on: one shell of 1234's left.
    await eventually(
      () =>
        (docker("exec", name, "ps", "-o", "user,args").match(/^\s*1234\s+sh\s*$/gm)?.length ?? 0) === 1
          ? true
          : undefined,
      30_000,
    );

    // A second drop: no more automatic tries, a button says so and reconnects.
    relay.cut();
    await page.getByText("Connection to the panel lost.").waitFor({ timeout: 10_000 });
    await expect.poll(() => state.getAttribute("data-state"), { timeout: 20_000 }).toBe("lost");
    await page.locator('[data-testid="terminal-again"]').click();
    await expect.poll(() => state.getAttribute("data-state"), { timeout: 15_000 }).toBe("open");
    await page.locator(".terminal .xterm").click();
    await page.keyboard.type("echo again-as-$(id -u)");
    await page.keyboard.press("Enter");
    await page.locator(".xterm-rows", { hasText: "again-as-1234" }).waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="terminal-close"]').click();
    await page.locator('[data-testid="terminal-form"]').waitFor();
  }, 180_000);

  it("keeps the theme per user across a reload and a new login, painted from the first byte", async () => {
    await page.locator('[data-testid="theme"]').selectOption("dark");
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
    const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(await bg()).toBe("rgb(15, 18, 22)");
    // The page itself comes with the theme on <html>: no script has to run before it shows.
    await expect
      .poll(async () =>
        /<html[^>]* data-theme="dark"/.test(await (await page.request.get(`${base}/`)).text()),
      )
      .toBe(true);
    await page.reload();
    await page.locator('[data-testid="theme"]').waitFor();
    expect(await page.locator('[data-testid="theme"]').inputValue()).toBe("dark");
    expect(await bg()).toBe("rgb(15, 18, 22)");

    // A fresh browser (no cookie) in a light system theme: the login brings the user's theme.
    const fresh = await browser.newContext({ colorScheme: "light" });
    try {
      const other = await fresh.newPage();
      await other.goto(base);
      await logIn(other, "admin", "detail-password-123");
      await other.locator('[data-testid="user"]').waitFor();
      expect(await other.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
      await other.reload();
      await other.locator('[data-testid="user"]').waitFor();
      expect(await other.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(
        "rgb(15, 18, 22)",
      );

      // Another user does not get it.
      const csrf = (await page.context().cookies()).find((c) => c.name === "gp_csrf")!.value;
      const made = await page.request.post(`${base}/api/v1/users`, {
        data: { username: "theme-other", password: "detail-password-123", role: "viewer" },
        headers: { "x-csrf-token": csrf },
      });
      expect(made.status()).toBe(201);
      await other.locator('[data-testid="logout"]').click();
      await logIn(other, "theme-other", "detail-password-123");
      await other.locator('[data-testid="user"]').waitFor();
      expect(await other.evaluate(() => document.documentElement.dataset.theme)).toBeUndefined();
      expect(await other.locator('[data-testid="theme"]').inputValue()).toBe("system");
      expect(await other.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(
        "rgb(246, 247, 249)",
      );
    } finally {
      await fresh.close();
    }
    await page.locator('[data-testid="theme"]').selectOption("system");
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBeUndefined();
  }, 180_000);

  it("logged no error and no CSP violation", () => {
    // Requests in flight when the relay cut the connections failed: that was the test's doing.
    expect(problems.filter((p) => !/net::ERR_(EMPTY_RESPONSE|CONNECTION_RESET)/.test(p))).toEqual([]);
  });
});
