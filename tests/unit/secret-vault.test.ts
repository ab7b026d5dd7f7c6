import type { Database } from "bun:sqlite";
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createKeyFile, KEY_FILE, readKeyFile, SecretKeyError } from "../../src/secrets/key-file.ts";
import { openVault, SecretOpenError, SecretVault } from "../../src/secrets/vault.ts";
import { openDatabase } from "../../src/store/database.ts";

let dir: string;
let db: Database;
const keyPath = () => join(dir, KEY_FILE);
const sealedOf = (owner: string) =>
  (db.query("SELECT sealed FROM secrets WHERE owner = ?").get(owner) as { sealed: Uint8Array }).sealed;
const setSealed = (owner: string, sealed: Uint8Array) =>
  db.query("UPDATE secrets SET sealed = ? WHERE owner = ?").run(sealed, owner);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "gptest-vault-"));
  db = openDatabase(dir);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("SecretVault", () => {
  it("puts, gets and deletes a value by owner; the row holds neither the value nor its bytes", () => {
    const vault = openVault(db, dir);
    const value =
      "-----BEGIN PRIVATE KEY-----\nc2VjcmV0IHZhbHVlIGluIGJhc2U2NA==\n-----END PRIVATE KEY-----\n";
    expect(vault.get("env:a:tls")).toBeUndefined();
    vault.put("env:a:tls", value);
    expect(vault.get("env:a:tls")).toBe(value);
    const sealed = Buffer.from(sealedOf("env:a:tls"));
    // 12 bytes of nonce, the ciphertext (as long as the value), 16 bytes of tag.
    expect(sealed.length).toBe(12 + Buffer.byteLength(value) + 16);
    expect(sealed.includes("PRIVATE KEY")).toBe(false);
    expect(sealed.includes("c2VjcmV0")).toBe(false);

    vault.put("env:a:tls", "replaced");
    expect(vault.get("env:a:tls")).toBe("replaced");
    vault.delete("env:a:tls");
    expect(vault.get("env:a:tls")).toBeUndefined();
    expect(db.query("SELECT COUNT(*) AS n FROM secrets").get()).toEqual({ n: 0 });
  });

  it("seals the same value differently each time (a random nonce per seal)", () => {
    const vault = openVault(db, dir);
    const plain = Buffer.from("same value");
    const a = Buffer.from(vault.seal("o", plain));
    const b = Buffer.from(vault.seal("o", plain));
    expect(a.equals(b)).toBe(false);
    expect(a.subarray(0, 12).equals(b.subarray(0, 12))).toBe(false);
    expect(Buffer.from(vault.open("o", a)).toString()).toBe("same value");
    expect(Buffer.from(vault.open("o", b)).toString()).toBe("same value");
  });

  it("detects a change to any part of a sealed value: nonce, ciphertext or tag", () => {
    const vault = openVault(db, dir);
    vault.put("registry:1:password", "hunter2hunter2");
    const sealed = Buffer.from(sealedOf("registry:1:password"));
    for (const at of [0, 11, 12, 20, sealed.length - 16, sealed.length - 1]) {
      const altered = Buffer.from(sealed);
      altered[at]! ^= 0x01;
      setSealed("registry:1:password", altered);
      expect(() => vault.get("registry:1:password"), `byte ${at}`).toThrow(SecretOpenError);
    }
    setSealed("registry:1:password", sealed.subarray(0, sealed.length - 1));
    expect(() => vault.get("registry:1:password")).toThrow(SecretOpenError);
    setSealed("registry:1:password", sealed.subarray(0, 20));
    expect(() => vault.get("registry:1:password")).toThrow(/too short/);
    setSealed("registry:1:password", sealed);
    expect(vault.get("registry:1:password")).toBe("hunter2hunter2");
  });

  it("binds a sealed value to its owner: copied to another owner's row, it does not open", () => {
    const vault = openVault(db, dir);
    vault.put("env:a:tls", "material of a");
    vault.put("env:b:tls", "material of b");
    setSealed("env:b:tls", sealedOf("env:a:tls"));
    expect(() => vault.get("env:b:tls")).toThrow(SecretOpenError);
    expect(vault.get("env:a:tls")).toBe("material of a");
  });

  it("does not open values sealed under another key", () => {
    const vault = openVault(db, dir);
    vault.put("env:a:tls", "material");
    const other = new SecretVault(db, crypto.getRandomValues(new Uint8Array(32)));
    expect(() => other.get("env:a:tls")).toThrow(SecretOpenError);
  });
});

describe("the key file", () => {
  it("is made on first open: 32 random bytes, mode 0600, and read back the same on the next open", () => {
    const first = openVault(db, dir);
    first.put("o", "value");
    const st = statSync(keyPath());
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.size).toBe(32);
    const key = readFileSync(keyPath());
    expect(openVault(db, dir).get("o")).toBe("value");
    expect(readFileSync(keyPath()).equals(key)).toBe(true);
  });

  it("is made 0600 even under umask 0, and leaves no temporary file behind", () => {
    const before = process.umask(0);
    try {
      createKeyFile(keyPath());
    } finally {
      process.umask(before);
    }
    expect(statSync(keyPath()).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((name) => name.startsWith(KEY_FILE))).toEqual([KEY_FILE]);
  });

  it("is never replaced: a second create finds the first key and uses it", () => {
    const first = createKeyFile(keyPath());
    const second = createKeyFile(keyPath());
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
    expect(Buffer.from(readKeyFile(keyPath())!).equals(Buffer.from(first))).toBe(true);
  });

  it("is refused when others may read or write it (0644, 0640, 0602), with how to fix it", () => {
    createKeyFile(keyPath());
    for (const mode of [0o644, 0o640, 0o602]) {
      chmodSync(keyPath(), mode);
      expect(() => openVault(db, dir)).toThrow(SecretKeyError);
      expect(() => openVault(db, dir)).toThrow(`mode 0${mode.toString(8)}`);
      expect(() => openVault(db, dir)).toThrow(`chmod 600 ${keyPath()}`);
    }
    chmodSync(keyPath(), 0o400);
    expect(() => openVault(db, dir)).not.toThrow();
  });

  it("is refused when it has the wrong size, or is a symlink", () => {
    writeFileSync(keyPath(), "not a key\n", { mode: 0o600 });
    expect(() => openVault(db, dir)).toThrow(/has 10 bytes, not 32/);
    rmSync(keyPath());
    const elsewhere = join(dir, "elsewhere.key");
    createKeyFile(elsewhere);
    symlinkSync(elsewhere, keyPath());
    expect(() => openVault(db, dir)).toThrow(/is a symlink/);
  });

  it("stops the start when it was replaced, or is missing, while sealed secrets exist", () => {
    openVault(db, dir).put("env:a:tls", "material");
    const original = readFileSync(keyPath());
    rmSync(keyPath());
    writeFileSync(keyPath(), crypto.getRandomValues(new Uint8Array(32)), { mode: 0o600 });
    expect(() => openVault(db, dir)).toThrow(
      `cannot open sealed secrets: the key file ${keyPath()} does not match (was it replaced?)`,
    );
    rmSync(keyPath());
    expect(() => openVault(db, dir)).toThrow(/key file .* is missing and the database holds 1 secret/);
    // Missing with secrets present: no new key is made in its place.
    expect(() => statSync(keyPath())).toThrow();
    writeFileSync(keyPath(), original, { mode: 0o600 });
    expect(openVault(db, dir).get("env:a:tls")).toBe("material");
  });

  it("names the rows that do not open when the key opens the others", () => {
    const vault = openVault(db, dir);
    vault.put("env:a:tls", "a");
    vault.put("env:b:tls", "b");
    const altered = Buffer.from(sealedOf("env:b:tls"));
    altered[15]! ^= 0xff;
    setSealed("env:b:tls", altered);
    expect(() => openVault(db, dir)).toThrow(/cannot open sealed secrets env:b:tls: .* altered or damaged/);
  });
});
