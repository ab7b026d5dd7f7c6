import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  linkSync,
  openSync,
  readSync,
  rmSync,
  writeSync,
} from "node:fs";

/** The file in the data directory that holds the key every sealed secret is encrypted under. */
export const KEY_FILE = "secret.key";
/** AES-256: 32 raw bytes, no encoding, so the size alone tells a key from anything else. */
export const KEY_BYTES = 32;

/** A key file the panel will not use; the message says what is wrong and what to do. */
export class SecretKeyError extends Error {}

/**
 * The key in `path`, or undefined when there is no such file. Refuses (SecretKeyError) a symlink,
 * anything but a regular file, a file others may read or write (the key is only worth keeping apart
 * from the database if it is kept from other users too) and a file of the wrong size.
 */
export function readKeyFile(path: string): Uint8Array | undefined {
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink planted in the data directory must not choose which key is read.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP")
      throw new SecretKeyError(`the key file ${path} is a symlink; it must be a plain file`);
    throw new SecretKeyError(`cannot read the key file ${path}: ${(err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SecretKeyError(`the key file ${path} is not a regular file`);
    const mode = st.mode & 0o777;
    if (mode & 0o077) {
      throw new SecretKeyError(
        `the key file ${path} has mode 0${mode.toString(8)}: other users may read it. ` +
          `It must be readable by its owner only: chmod 600 ${path}`,
      );
    }
    if (st.size !== KEY_BYTES) {
      throw new SecretKeyError(
        `the key file ${path} has ${st.size} bytes, not ${KEY_BYTES}: it is not a GhostPanel key ` +
          "(restore the one made with this data directory)",
      );
    }
    const key = new Uint8Array(KEY_BYTES);
    if (readSync(fd, key, 0, KEY_BYTES, 0) !== KEY_BYTES)
      throw new SecretKeyError(`the key file ${path} could not be read in full`);
    return key;
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes a new random key file. It is written in full under a temporary name (O_EXCL, mode 0600)
 * and then linked into place: link() fails when the name exists, as O_EXCL does, so a key file is
 * never replaced, never seen half written after a crash, and when two panels start on one directory
 * at once the first key made is the key of both.
 */
export function createKeyFile(path: string): Uint8Array {
  const key = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
  const tmp = `${path}.${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex")}.tmp`;
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeSync(fd, key);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const theirs = readKeyFile(path);
      if (!theirs) throw err;
      return theirs;
    }
    return key;
  } catch (err) {
    if (err instanceof SecretKeyError) throw err;
    throw new SecretKeyError(`cannot create the key file ${path}: ${(err as Error).message}`);
  } finally {
    rmSync(tmp, { force: true });
  }
}
