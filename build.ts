/**
 * Builds dist/ghostpanel: the UI bundled from web/index.html, each file with gzip and brotli twins,
 * all embedded (import … with { type: "file" }) in one `bun build --compile` executable.
 *
 *   bun build.ts                        UI + dist/ghostpanel (linux-x64) + dist/ghostpanel-linux-arm64
 *   GHOSTPANEL_BUILD_ARM64=0 bun build.ts   skip the arm64 cross-compile
 *
 * Outputs: dist/web/ (UI and twins), dist/ui-manifest.generated.ts, dist/entry.generated.ts and the
 * executables. Never `strip` them: the application lives in an ELF section that strip removes.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, extname, join, relative } from "node:path";
import { brotliCompressSync, constants as zlib } from "node:zlib";

const ROOT = import.meta.dir;
const DIST = join(ROOT, "dist");
const WEB_OUT = join(DIST, "web");
const UI_ENTRY = join(ROOT, "web", "index.html");
const MANIFEST = join(DIST, "ui-manifest.generated.ts");
const ENTRY = join(DIST, "entry.generated.ts");

/** What to compile: `target` undefined = the running Bun's own platform (no download). */
interface Target {
  name: string;
  target: Bun.Build.CompileTarget | undefined;
  outfile: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html;charset=utf-8",
  ".js": "text/javascript;charset=utf-8",
  ".mjs": "text/javascript;charset=utf-8",
  ".css": "text/css;charset=utf-8",
  ".json": "application/json;charset=utf-8",
  ".webmanifest": "application/manifest+json;charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".avif": "image/avif",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
  ".txt": "text/plain;charset=utf-8",
  ".wasm": "application/wasm",
};

interface BuiltFile {
  /** URL path, e.g. /index.html */
  path: string;
  /** on disk, absolute */
  file: string;
  type: string;
  etag: string;
  immutable: boolean;
  size: number;
  gzipSize: number;
  brSize: number;
}

function log(line: string): void {
  console.log(`build: ${line}`);
}

function fail(message: string): never {
  console.error(`build: ${message}`);
  process.exit(1);
}

function mb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} kB`;
}

/** Writes only when the content differs, so unchanged generated files keep their mtime. */
function writeIfChanged(path: string, content: string): void {
  if (existsSync(path) && readFileSync(path, "utf8") === content) return;
  writeFileSync(path, content);
}

async function buildUi(): Promise<BuiltFile[]> {
  if (!existsSync(UI_ENTRY)) fail(`${relative(ROOT, UI_ENTRY)} is missing: the UI cannot be built.`);
  rmSync(WEB_OUT, { recursive: true, force: true });
  const result = await Bun.build({
    entrypoints: [UI_ENTRY],
    outdir: WEB_OUT,
    minify: true,
    splitting: true,
    // Absolute URLs: index.html works whatever path the browser asked for.
    publicPath: "/",
    sourcemap: "none",
    // Production JSX (no dev-time checks): a few hundred bytes less on the first load.
    define: { "process.env.NODE_ENV": '"production"' },
    naming: { entry: "[dir]/[name].[ext]", chunk: "[name]-[hash].[ext]", asset: "[name]-[hash].[ext]" },
    throw: false,
  });
  if (!result.success) {
    for (const message of result.logs) console.error(message);
    fail("UI build failed");
  }
  const files: BuiltFile[] = [];
  for (const output of result.outputs) {
    const bytes = new Uint8Array(await output.arrayBuffer());
    const name = relative(WEB_OUT, output.path).split("\\").join("/");
    const gz = Bun.gzipSync(bytes, { level: 9 });
    const br = brotliCompressSync(bytes, {
      params: {
        [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY,
        [zlib.BROTLI_PARAM_LGWIN]: zlib.BROTLI_MAX_WINDOW_BITS,
        [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    });
    writeFileSync(`${output.path}.gz`, gz);
    writeFileSync(`${output.path}.br`, br);
    const digest = new Bun.CryptoHasher("sha256").update(bytes).digest("base64url").slice(0, 16);
    files.push({
      path: `/${name}`,
      file: output.path,
      type: TYPES[extname(name).toLowerCase()] ?? (output.type || "application/octet-stream"),
      etag: `"${digest}"`,
      // Bun puts the content hash in chunk and asset names; index.html keeps its name.
      immutable: output.hash !== null && basename(name).includes(output.hash),
      size: bytes.length,
      gzipSize: gz.length,
      brSize: br.length,
    });
  }
  files.sort((a, b) => a.path.localeCompare(b.path));
  if (!files.some((f) => f.path === "/index.html")) fail("the UI build produced no /index.html");
  return files;
}

function writeManifest(files: BuiltFile[]): void {
  const imports: string[] = [];
  const entries: string[] = [];
  files.forEach((f, i) => {
    const rel = `./${relative(DIST, f.file).split("\\").join("/")}`;
    imports.push(
      `import f${i} from ${JSON.stringify(rel)} with { type: "file" };`,
      `import f${i}gz from ${JSON.stringify(`${rel}.gz`)} with { type: "file" };`,
      `import f${i}br from ${JSON.stringify(`${rel}.br`)} with { type: "file" };`,
    );
    entries.push(
      `  { path: ${JSON.stringify(f.path)}, type: ${JSON.stringify(f.type)}, file: f${i}, gzip: f${i}gz, br: f${i}br, ` +
        `etag: ${JSON.stringify(f.etag)}, immutable: ${f.immutable} },`,
    );
  });
  writeIfChanged(
    MANIFEST,
    [
      "// Generated by build.ts: do not edit. Each import embeds a file in the compiled executable.",
      'import type { UiAsset } from "../src/server/ui.ts";',
      ...imports,
      "",
      "export const uiAssets: UiAsset[] = [",
      ...entries,
      "];",
      "",
    ].join("\n"),
  );
  writeIfChanged(
    ENTRY,
    [
      "// Generated by build.ts: do not edit. The compiled executable's entry point.",
      "// The UI's manifest is loaded behind the listener: at start it would cost ~20 ms of CPU.",
      'import { runMain } from "../src/main.ts";',
      "",
      "runMain(async () => {",
      "  const [{ embedUi }, { uiAssets }] = await Promise.all([",
      '    import("../src/server/ui.ts"),',
      '    import("./ui-manifest.generated.ts"),',
      "  ]);",
      "  embedUi(uiAssets);",
      "});",
      "",
    ].join("\n"),
  );
}

/**
 * Native add-ons in the dependency tree (ssh2's sshcrypto.node and cpu-features, via dockerode) would be
 * embedded, extracted to /tmp and dlopen'ed at every start, needing libstdc++ (absent from the image),
 * and a bare specifier left external would be looked up in the working directory's node_modules.
 * Both packages load them in try/catch and fall back to JavaScript (the panel never speaks ssh), so
 * they compile to a module that throws.
 */
const noNativeAddons: Bun.BunPlugin = {
  name: "no-native-addons",
  setup(build) {
    build.onResolve({ filter: /^cpu-features$|\.node$/ }, (args) => ({
      path: args.path,
      namespace: "no-native",
    }));
    build.onLoad({ filter: /.*/, namespace: "no-native" }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path}: native add-ons are not embedded`)});`,
      loader: "js",
    }));
  },
};

/**
 * dockerode requires its buildkit session code (grpc-js, protobufjs) and docker-modem its ssh
 * transport (ssh2) when they load, though the panel uses neither: in the executable that is ~20 MB
 * of resident memory (measured: a compiled dockerode import went from 54 MB RSS to 33 MB). These
 * requires become calls made on first use; the modules are still bundled and work if ever reached.
 * (Deferring tar-fs, .dockerignore and the hijack stream too saved nothing measurable.) The build
 * fails if a dependency update moves the line, rather than silently losing the saving.
 */
const DEFERRED_REQUIRES: { file: RegExp; line: string; name: string; spec: string }[] = [
  {
    file: /dockerode[\\/]lib[\\/]docker\.js$/,
    line: "withSession = require('./session'),",
    name: "withSession",
    spec: "./session",
  },
  {
    file: /docker-modem[\\/]lib[\\/]modem\.js$/,
    line: "ssh = require('./ssh'),",
    name: "ssh",
    spec: "./ssh",
  },
];

const deferRequires: Bun.BunPlugin = {
  name: "defer-requires",
  setup(build) {
    for (const d of DEFERRED_REQUIRES) {
      build.onLoad({ filter: d.file }, async (args) => {
        const text = await Bun.file(args.path).text();
        if (!text.includes(d.line))
          fail(`${args.path} no longer has \`${d.line}\`: update DEFERRED_REQUIRES`);
        const lazy = `${d.name} = function () { return require('${d.spec}').apply(this, arguments); },`;
        return { contents: text.replace(d.line, lazy), loader: "js" };
      });
    }
  },
};

async function compile(t: Target): Promise<void> {
  const started = performance.now();
  const result = await Bun.build({
    // The archive thread is started by path (src/volumes/archive-thread.ts): it must be an entry.
    entrypoints: [ENTRY, join(ROOT, "src", "volumes", "archive-worker.ts")],
    compile: {
      ...(t.target ? { target: t.target } : {}),
      outfile: t.outfile,
      // A panel must not pick up whatever .env or bunfig.toml sits in the directory it starts from.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
    minify: true,
    bytecode: true,
    format: "esm",
    splitting: true,
    sourcemap: "none",
    // msgpackr would look for its native add-on in this machine's node_modules (an absolute path baked
    // in at build time) and load it from there: the executable must behave the same everywhere.
    define: { "process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED": '"true"' },
    plugins: [noNativeAddons, deferRequires],
    throw: false,
  });
  if (!result.success) {
    for (const message of result.logs) console.error(message);
    fail(`compiling ${t.name} failed`);
  }
  const ms = Math.round(performance.now() - started);
  log(`${relative(ROOT, t.outfile)} (${t.name}) ${mb(statSync(t.outfile).size)} in ${ms} ms`);
}

const started = performance.now();
mkdirSync(DIST, { recursive: true });
const files = await buildUi();
writeManifest(files);
const total = files.reduce((n, f) => n + f.size, 0);
const totalBr = files.reduce((n, f) => n + f.brSize, 0);
const totalGz = files.reduce((n, f) => n + f.gzipSize, 0);
for (const f of files) {
  log(
    `  ${f.path.padEnd(32)} ${mb(f.size).padStart(9)}  gzip ${mb(f.gzipSize).padStart(9)}  br ${mb(f.brSize).padStart(9)}`,
  );
}
log(`UI: ${files.length} files, ${mb(total)} (gzip ${mb(totalGz)}, br ${mb(totalBr)})`);

const native = process.platform === "linux" && process.arch === "x64";
const targets: Target[] = [
  { name: "linux-x64", target: native ? undefined : "bun-linux-x64", outfile: join(DIST, "ghostpanel") },
];
if (process.env.GHOSTPANEL_BUILD_ARM64 !== "0") {
  targets.push({
    name: "linux-arm64",
    target: "bun-linux-arm64",
    outfile: join(DIST, "ghostpanel-linux-arm64"),
  });
} else {
  log("linux-arm64 skipped (GHOSTPANEL_BUILD_ARM64=0)");
}
// One at a time: each compile holds a ~100 MB executable in memory.
for (const t of targets) await compile(t);
log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
