import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { proofPayload } from "./wire.ts";

/** What an agent keeps in its data directory once it has joined: never the join token. */
export interface Joined {
  id: string;
  /** the panel's certificate fingerprint it pinned when it joined */
  fingerprint: string;
  /** the panel's agent listener, host:port */
  address: string;
}

/**
 * The agent's key pair (Ed25519, made on the agent, the private half never leaves DIR) and, once
 * the panel has accepted it, what it joined.
 */
export class AgentIdentity {
  private constructor(
    private readonly dir: string,
    private readonly key: KeyObject,
    public joined: Joined | undefined,
  ) {}

  static open(dir: string): AgentIdentity {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const keyPath = join(dir, "agent-key.pem");
    let key: KeyObject;
    if (existsSync(keyPath)) key = createPrivateKey(readFileSync(keyPath));
    else {
      key = generateKeyPairSync("ed25519").privateKey;
      writeFileSync(keyPath, key.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
      chmodSync(keyPath, 0o600);
    }
    const joinedPath = join(dir, "agent.json");
    const joined = existsSync(joinedPath)
      ? (JSON.parse(readFileSync(joinedPath, "utf8")) as Joined)
      : undefined;
    return new AgentIdentity(dir, key, joined);
  }

  get publicKey(): string {
    return createPublicKey(this.key).export({ type: "spki", format: "pem" }).toString();
  }

  prove(nonce: string, fingerprint: string): string {
    return sign(null, proofPayload(nonce, fingerprint), this.key).toString("base64");
  }

  save(joined: Joined): void {
    this.joined = joined;
    writeFileSync(join(this.dir, "agent.json"), `${JSON.stringify(joined, null, 2)}\n`, { mode: 0o600 });
  }
}
