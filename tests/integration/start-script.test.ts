import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { eventually, PREFIX } from "../helpers/engine.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `npm start -- ARGS`, as the README tells a newcomer to run it; returns once `until` matches its output. */
async function npmStart(args: string[], until: RegExp) {
  const dataDir = mkdtempSync(join(tmpdir(), "gptest-start-"));
  dirs.push(dataDir);
  const proc = Bun.spawn(
    ["npm", "start", "--silent", "--", "--listen", "127.0.0.1:0", "--data", dataDir, ...args],
    {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  let out = "";
  for (const stream of [proc.stdout, proc.stderr]) {
    void (async () => {
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        out += Buffer.from(value).toString();
      }
    })();
  }
  try {
    await eventually(
      () => (until.test(out) ? true : undefined),
      60_000,
      `npm start output matching ${until}`,
    );
  } finally {
    // npm does not pass signals on: end npm, its shell and the panel, all named by the data dir.
    Bun.spawnSync(["pkill", "-TERM", "-f", dataDir]);
    await proc.exited;
  }
  return out;
}

describe("npm start", () => {
  it("starts the panel on the local engine and says where to open it and how to begin", async () => {
    const out = await npmStart(["--tls", "auto"], /Engine "local" up/);
    expect(out).toMatch(/listening on https:\/\/127\.0\.0\.1:\d+/);
    expect(out).toMatch(/SHA-256 fingerprint [0-9A-F:]{95}/);
    expect(out).toMatch(/First run: open https:\/\/127\.0\.0\.1:\d+ to create the admin account/);
  });

  it("starts without an engine and says plainly how to point it at one", async () => {
    const out = await npmStart(
      ["--tls", "off", "--engine", `unix:///tmp/${PREFIX}no-engine.sock`],
      /GHOSTPANEL_ENGINE/,
    );
    expect(out).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toMatch(/Engine "local" unreachable at unix:\/\/\/tmp\/.*no-engine\.sock/);
    expect(out).toMatch(/--engine unix:\/\/\/path\/to\/docker\.sock/);
  });
});
