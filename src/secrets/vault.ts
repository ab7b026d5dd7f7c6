import type { Database } from "bun:sqlite";
import { join } from "node:path";
import { createKeyFile, KEY_FILE, readKeyFile, SecretKeyError } from "./key-file.ts";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A sealed value that does not open: another key, another owner, or altered bytes. */
export class SecretOpenError extends Error {}

/**
 * node:crypto rather than WebCrypto: crypto.subtle only answers with promises, and secrets are put
 * inside synchronous SQLite transactions and read by the synchronous Environments.start(). Loaded on
 * first use (process.getBuiltinModule is synchronous, unlike import()): the module costs ~3 MB of
 * resident memory in the executable, which a panel that keeps no secret need not pay.
 */
function nodeCrypto(): typeof import("node:crypto") {
  return process.getBuiltinModule("node:crypto");
}

/**
 * Secrets at rest (registry passwords, engine client keys) in the `secrets` table, each sealed with
 * AES-256-GCM under the key file: `nonce (12 random bytes) ‖ ciphertext ‖ tag (16)`. The owner
 * (e.g. `env:<id>:tls`) is the additional authenticated data, so a sealed value copied to another
 * owner's row does not open there. Values go in and out as strings; nothing here logs or returns
 * them anywhere else.
 */
export class SecretVault {
  constructor(
    private readonly db: Database,
    private readonly key: Uint8Array,
  ) {}

  seal(owner: string, plain: Uint8Array): Uint8Array {
    const { createCipheriv, randomBytes } = nodeCrypto();
    // Random 96-bit nonces are safe for up to 2^32 seals under one key (NIST SP 800-38D); a panel
    // seals a handful per engine or registry it is told about.
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(owner, "utf8"));
    return Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  }

  /** The plain bytes; SecretOpenError when the value was not sealed for `owner` with this key. */
  open(owner: string, sealed: Uint8Array): Uint8Array {
    if (sealed.length < NONCE_BYTES + TAG_BYTES)
      throw new SecretOpenError(`the sealed secret of ${owner} is too short`);
    const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const decipher = nodeCrypto().createDecipheriv("aes-256-gcm", this.key, bytes.subarray(0, NONCE_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(owner, "utf8"));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    const body = decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES));
    try {
      return Buffer.concat([body, decipher.final()]);
    } catch {
      throw new SecretOpenError(`the sealed secret of ${owner} does not open with this key`);
    }
  }

  put(owner: string, value: string): void {
    this.db
      .query(
        `INSERT INTO secrets (owner, sealed, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (owner) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`,
      )
      .run(owner, this.seal(owner, Buffer.from(value, "utf8")), Date.now());
  }

  /** The value, undefined when `owner` has none; SecretOpenError when its row does not open. */
  get(owner: string): string | undefined {
    const row = this.db.query("SELECT sealed FROM secrets WHERE owner = ?").get(owner) as {
      sealed: Uint8Array;
    } | null;
    return row ? Buffer.from(this.open(owner, row.sealed)).toString("utf8") : undefined;
  }

  delete(owner: string): void {
    this.db.query("DELETE FROM secrets WHERE owner = ?").run(owner);
  }
}

/**
 * The vault of a data directory: its key file, made on first start. Before the panel uses it, every
 * sealed row must open, so a replaced or lost key file stops the start with a message that says so
 * rather than showing up later as engines that cannot connect. Throws SecretKeyError.
 */
export function openVault(db: Database, dataDir: string): SecretVault {
  const path = join(dataDir, KEY_FILE);
  const rows = db.query("SELECT owner, sealed FROM secrets ORDER BY owner").all() as {
    owner: string;
    sealed: Uint8Array;
  }[];
  let key = readKeyFile(path);
  if (!key) {
    if (rows.length > 0) {
      throw new SecretKeyError(
        `cannot open sealed secrets: the key file ${path} is missing and the database holds ` +
          `${rows.length} secret(s) sealed under it; restore the key file made with this database`,
      );
    }
    key = createKeyFile(path);
  }
  const vault = new SecretVault(db, key);
  const failed = rows.filter((r) => {
    try {
      vault.open(r.owner, r.sealed);
      return false;
    } catch (err) {
      if (err instanceof SecretOpenError) return true;
      throw err;
    }
  });
  if (failed.length > 0 && failed.length === rows.length)
    throw new SecretKeyError(
      `cannot open sealed secrets: the key file ${path} does not match (was it replaced?)`,
    );
  if (failed.length > 0) {
    throw new SecretKeyError(
      `cannot open sealed secrets ${failed.map((r) => r.owner).join(", ")}: the key file ${path} opens ` +
        "the others, so these rows of the database were altered or damaged",
    );
  }
  return vault;
}
