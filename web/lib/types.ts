/** Shapes of the panel API's JSON answers about users and access, as the UI reads them; what concerns
 * engines and containers is the wire contract, src/protocol/. */

export interface User {
  id: number | string;
  username: string;
  role: string;
}

export type Role = "admin" | "operator" | "viewer";
export type EnvRole = "operator" | "viewer";

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
  kind: "env" | "container" | "app";
  /** kind "env" only: the members' role on that whole engine (absent: each member's own) */
  role?: EnvRole;
  /** The container's or app's name; empty for a whole environment. */
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
