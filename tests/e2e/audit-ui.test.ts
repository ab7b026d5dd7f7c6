import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { ADMIN, tokenFor } from "../helpers/panel.ts";
import { launchChromium } from "./browser.ts";

describe("the audit page in Chromium, from dist/ghostpanel", () => {
  let panel: BinaryPanel;
  let browser: Browser;
  let page: Page;
  let token: string;

  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${panel.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const rows = () => page.locator('[data-testid="audit-table"] tbody tr');

  beforeAll(async () => {
    panel = await startBinary(["--tls", "off"]);
    token = await tokenFor(panel.url, ADMIN, "e2e", "setup");
    // More than a page: 120 refused changes.
    for (let i = 0; i < 120; i++) await api("POST", "/envs", { name: `bad-${i}`, url: "ftp://nowhere" });
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await panel?.stop();
  });

  it("is linked for admins and lists entries newest first, a page at a time", async () => {
    await page.goto(panel.url);
    await page.locator('input[name="username"]').fill(ADMIN.username);
    await page.locator('input[name="password"]').fill(ADMIN.password);
    await page.locator('button[type="submit"]').click();
    await page.locator('[data-testid="nav-audit"]').click();
    await rows().first().waitFor();
    expect(await rows().count()).toBe(100);
    expect(await rows().first().textContent()).toContain("POST /api/v1/auth/login");
    await page.locator('[data-testid="audit-more"]').click();
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="audit-table"] tbody tr').length > 100,
    );
    expect(await rows().count()).toBe(123); // setup, token, 120 refusals, this login
    expect(await rows().last().textContent()).toContain("POST /api/v1/setup");
  });

  it("filters, and exports what the filters select", async () => {
    await page.locator('[data-testid="audit-q"]').fill("bad-11");
    await page.locator('[data-testid="audit-result"]').selectOption("error");
    await page.locator('[data-testid="audit-apply"]').click();
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="audit-table"] tbody tr').length === 11,
    );
    expect(await rows().first().textContent()).toContain("name=bad-119");
    const href = await page.locator('[data-testid="export-csv"]').getAttribute("href");
    expect(href).toContain("format=csv");
    expect(href).toContain("result=error");
    const csv = await page.request.get(panel.url + href);
    const lines = (await csv.text()).trimEnd().split("\r\n");
    expect(lines[0]).toBe("id,at,user_id,username,address,env,action,target,result,status,detail");
    expect(lines).toHaveLength(12);
    const jsonl = await page.request.get(
      panel.url + (await page.locator('[data-testid="export-jsonl"]').getAttribute("href")),
    );
    expect((await jsonl.text()).trimEnd().split("\n")).toHaveLength(11);
  });

  it("sets the retention", async () => {
    await page.locator('[data-testid="retention-days"]').fill("30");
    await page.locator('[data-testid="retention-save"]').click();
    await page.getByText("now 30 days").waitFor();
    expect(await (await api("GET", "/settings/audit")).json()).toEqual({ retention_days: 30 });
  });
});
