const ARGON = { algorithm: "argon2id", memoryCost: 19456, timeCost: 2 } as const;

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, ARGON);
}

// Verifying against a fixed hash when the user does not exist keeps the answer time the same,
// so login timing does not tell which usernames exist.
let decoy: Promise<string> | undefined;
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  if (hash === undefined) {
    decoy ??= hashPassword("decoy-password-never-matches");
    await Bun.password.verify(password, await decoy);
    return false;
  }
  return Bun.password.verify(password, hash);
}
