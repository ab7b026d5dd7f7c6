/** Shapes of the panel API's JSON answers, as the UI reads them. */

export interface User {
  id: number | string;
  username: string;
  role: string;
}

/** Missing capabilities count as available: only an explicit `false` hides a feature. */
export interface Capabilities {
  pause?: boolean;
  kill?: boolean;
  restart?: boolean;
  rename?: boolean;
  logs?: boolean;
  inspect?: boolean;
}

export interface Env {
  id: string;
  name: string;
  kind: string;
  status: "up" | "down";
  url: string;
  error?: string;
  capabilities?: Capabilities;
}

export type ContainerState = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";

export interface Port {
  private: number;
  public?: number;
  type: string;
  ip?: string;
}

export interface Container {
  id: string;
  name: string;
  image: string;
  image_id: string;
  command: string;
  state: ContainerState;
  status: string;
  health: "healthy" | "unhealthy" | "starting" | null;
  created: number;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  labels: Record<string, string>;
  ports: Port[];
  networks: string[];
}

export interface LogLine {
  stream: "stdout" | "stderr";
  time: string | null;
  text: string;
}
