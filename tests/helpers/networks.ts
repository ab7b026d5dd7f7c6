import { docker, RUN_ID, RUN_LABEL } from "./engine.ts";

/** The label every network a test makes carries (RUN_LABEL as a key and value), so cleanup finds them all. */
export const RUN_LABELS = { [RUN_LABEL.split("=")[0]!]: RUN_ID };

/**
 * A /24 of 10.x.y.0 for this run, picked at random so that tests of other helpers on the same
 * engine (and a run left over) are unlikely to overlap; `n` picks one of several.
 */
const base = 64 + Math.floor(Math.random() * 150);
const third = Math.floor(Math.random() * 200);
export function testSubnet(n: number): {
  subnet: string;
  gateway: string;
  range: string;
  ip: (host: number) => string;
} {
  const prefix = `10.${base}.${third + n}`;
  return {
    subnet: `${prefix}.0/24`,
    gateway: `${prefix}.1`,
    range: `${prefix}.128/25`,
    ip: (host) => `${prefix}.${host}`,
  };
}

/** Removes every network this run made (after its containers: cleanupEngine first). */
export function cleanupNetworks(): void {
  const ids = docker("network", "ls", "-q", "--filter", `label=${RUN_LABEL}`).split("\n").filter(Boolean);
  for (const id of ids) {
    try {
      docker("network", "rm", id);
    } catch {
      // already gone
    }
  }
}

export interface CliNetwork {
  ID: string;
  Name: string;
  Driver: string;
  Scope: string;
  Internal: string;
  IPv6: string;
  Labels: string;
}

/** `docker network ls`, as the CLI prints it (20.10 has no `--format json`: one JSON object a line). */
export function cliNetworks(): CliNetwork[] {
  return docker("network", "ls", "--no-trunc", "--format", "{{json .}}")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as CliNetwork);
}

export function inspectNetwork(ref: string): any {
  return JSON.parse(docker("network", "inspect", ref))[0];
}

export function networkExists(name: string): boolean {
  return docker("network", "ls", "-q", "--filter", `name=^${name}$`) !== "";
}
