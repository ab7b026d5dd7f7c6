import { readFileSync } from "node:fs";
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { THEME_COOKIE } from "../protocol/prefs.ts";

/** One file of the built UI, embedded in the binary by build.ts (with precompressed twins). */
export interface UiAsset {
  path: string;
  type: string;
  file: string;
  gzip: string;
  br: string;
  etag: string;
  /** Content-hashed names never change meaning, so browsers may keep them for good. */
  immutable: boolean;
}

const assets = new Map<string, UiAsset>();

export function embedUi(list: UiAsset[]): void {
  for (const a of list) assets.set(a.path, a);
}

export function uiEmbedded(): boolean {
  return assets.size > 0;
}

export function serveUi(c: Context): Response | undefined {
  const path = c.req.path === "/" ? "/index.html" : c.req.path;
  const asset = assets.get(path);
  if (!asset) return undefined;
  const theme = getCookie(c, THEME_COOKIE);
  if (path === "/index.html" && (theme === "light" || theme === "dark")) return themedPage(asset, theme);
  const headers: Record<string, string> = {
    "Content-Type": asset.type,
    ETag: asset.etag,
    "Cache-Control": asset.immutable ? "public, max-age=31536000, immutable" : "no-cache",
    Vary: "Accept-Encoding",
  };
  if (c.req.header("if-none-match") === asset.etag) return new Response(null, { status: 304, headers });
  const accepts = c.req.header("accept-encoding") ?? "";
  let file = asset.file;
  if (/\bbr\b/.test(accepts)) {
    file = asset.br;
    headers["Content-Encoding"] = "br";
  } else if (/\bgzip\b/.test(accepts)) {
    file = asset.gzip;
    headers["Content-Encoding"] = "gzip";
  }
  return new Response(Bun.file(file), { headers });
}

/** index.html (a few hundred bytes) with each chosen theme already on <html>, made once each. */
const themedPages = new Map<string, string>();

/**
 * The page in the theme its user chose (the cookie set with the prefs): painted in that theme from
 * the start, where a script could only switch it after a first paint in the browser's.
 */
function themedPage(asset: UiAsset, theme: "light" | "dark"): Response {
  let html = themedPages.get(theme);
  if (html === undefined) {
    html = readFileSync(asset.file, "utf8").replace(/<html\b/, `<html data-theme="${theme}"`);
    themedPages.set(theme, html);
  }
  return new Response(html, {
    headers: { "Content-Type": asset.type, "Cache-Control": "no-cache", Vary: "Cookie" },
  });
}
