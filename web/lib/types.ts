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

export type Role = "admin" | "operator" | "viewer";

/** GET /auth/me */
export interface Me {
  user: User;
  teams: string[];
  via: "cookie" | "token";
}

export interface ApiToken {
  id: number;
  name: string;
  scope: "read" | "full";
  /** null: every environment the user reaches. */
  envs: string[] | null;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

export interface UserEntry extends User {
  id: number;
  role: Role;
  created_at: number;
  teams: string[];
}

export interface TeamResource {
  env: string;
  kind: "env" | "container";
  /** The container's name; empty for a whole environment. */
  ref: string;
}

export interface Team {
  id: number;
  name: string;
  members: number[];
  resources: TeamResource[];
}

export interface SecuritySettings {
  allow_privileged: boolean;
  allow_host_namespaces: boolean;
  allow_devices: boolean;
  allow_capabilities: boolean;
  allowed_bind_paths: string[];
}
