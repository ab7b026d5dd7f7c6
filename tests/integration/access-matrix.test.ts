import { Database } from "bun:sqlite";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupEngine,
  docker,
  eventually,
  RUN_LABEL,
  runContainer,
  TEST_IMAGE,
  uniqueName,
} from "../helpers/engine.ts";
import { cleanupNetworks } from "../helpers/networks.ts";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";
import { FeedClient, type Frame, StreamClient } from "../helpers/stream.ts";

/**
 * Every route and every stream topic, against every kind of caller, with the expected answer
 * written out here by hand — not derived from the policy code it checks. A route added to the
 * panel without a line here fails the first test.
 */

const CALLERS = [
  "admin",
  "admin-readonly", // an admin's read-only token
  "operator", // in no team
  "viewer", // in no team
  "alpha", // an operator in the team that owns the test container
  "beta", // an operator in another team
  "none",
  "expired", // an admin's token past its expiry
  "revoked", // an admin's token, revoked
  "limited", // an admin's token limited to the local engine
] as const;
type CallerKind = (typeof CALLERS)[number];

const ANYONE = new Set<CallerKind>(CALLERS);
const LOGGED_IN = new Set<CallerKind>([
  "admin",
  "admin-readonly",
  "operator",
  "viewer",
  "alpha",
  "beta",
  "limited",
]);
const CAN_WRITE_SELF = new Set<CallerKind>(["admin", "operator", "viewer", "alpha", "beta", "limited"]);
const OPERATORS = new Set<CallerKind>(["admin", "operator", "alpha", "beta", "limited"]);
// the panel's administration: never to a token limited to some engines
const ADMIN = new Set<CallerKind>(["admin"]);
const ADMIN_READ = new Set<CallerKind>(["admin", "admin-readonly"]);
// an admin's view of one engine (its host, its figures): a token limited to that engine keeps it
const ENGINE_ADMIN_READ = new Set<CallerKind>(["admin", "admin-readonly", "limited"]);
const OWNER_READ = new Set<CallerKind>(["admin", "admin-readonly", "alpha", "limited"]);
const OWNER_WRITE = new Set<CallerKind>(["admin", "alpha", "limited"]);
// registries: listed and browsed by whoever pulls; never by a token limited to some engines
const REGISTRY_READ = new Set<CallerKind>(["admin", "admin-readonly", "operator", "alpha", "beta"]);
// an engine-wide change of one engine: admins, and an admin's token limited to that engine
const ENGINE_ADMIN = new Set<CallerKind>(["admin", "limited"]);

interface Sample {
  /** "METHOD /path/{with}/{params}" exactly as the route table declares it */
  route: string;
  /** the concrete request; {owned} is the alpha team's container, {ownednet} its network, {vol} its volume */
  path: string;
  body?: unknown;
  allow: Set<CallerKind>;
}

// Mutations are sent with input the handler refuses after the gate (400), or that the engine
// refuses (409): an allowed caller gets past the policy without changing anything. Denied means
// 401, 403, or 404 where a container the caller may not see is treated as missing.
const SAMPLES: Sample[] = [
  { route: "GET /healthz", path: "/healthz", allow: ANYONE },
  { route: "GET /api/v1/setup", path: "/api/v1/setup", allow: ANYONE },
  { route: "POST /api/v1/setup", path: "/api/v1/setup", body: {}, allow: ANYONE },
  { route: "POST /api/v1/auth/login", path: "/api/v1/auth/login", body: {}, allow: ANYONE },
  { route: "POST /api/v1/auth/logout", path: "/api/v1/auth/logout", allow: LOGGED_IN },
  { route: "GET /api/v1/auth/me", path: "/api/v1/auth/me", allow: LOGGED_IN },
  { route: "POST /api/v1/auth/password", path: "/api/v1/auth/password", body: {}, allow: CAN_WRITE_SELF },
  { route: "PUT /api/v1/auth/prefs", path: "/api/v1/auth/prefs", body: {}, allow: CAN_WRITE_SELF },
  { route: "POST /api/v1/tokens", path: "/api/v1/tokens", body: {}, allow: CAN_WRITE_SELF },
  { route: "GET /api/v1/tokens", path: "/api/v1/tokens", allow: LOGGED_IN },
  { route: "DELETE /api/v1/tokens/{id}", path: "/api/v1/tokens/0", allow: CAN_WRITE_SELF },
  { route: "GET /api/v1/users", path: "/api/v1/users", allow: ADMIN },
  { route: "POST /api/v1/users", path: "/api/v1/users", body: {}, allow: ADMIN },
  { route: "PUT /api/v1/users/{id}", path: "/api/v1/users/0", body: {}, allow: ADMIN },
  { route: "DELETE /api/v1/users/{id}", path: "/api/v1/users/0", allow: ADMIN },
  { route: "GET /api/v1/teams", path: "/api/v1/teams", allow: ADMIN },
  { route: "POST /api/v1/teams", path: "/api/v1/teams", body: {}, allow: ADMIN },
  { route: "PUT /api/v1/teams/{id}", path: "/api/v1/teams/0", body: {}, allow: ADMIN },
  { route: "DELETE /api/v1/teams/{id}", path: "/api/v1/teams/0", allow: ADMIN },
  { route: "GET /api/v1/envs", path: "/api/v1/envs", allow: LOGGED_IN },
  { route: "GET /api/v1/envs/{env}", path: "/api/v1/envs/local", allow: LOGGED_IN },
  { route: "POST /api/v1/envs", path: "/api/v1/envs", body: {}, allow: ADMIN },
  // the local environment cannot be removed: 400 for whoever may try
  { route: "DELETE /api/v1/envs/{env}", path: "/api/v1/envs/local", allow: ADMIN },
  { route: "GET /api/v1/envs/{env}/containers", path: "/api/v1/envs/local/containers", allow: LOGGED_IN },
  {
    route: "POST /api/v1/envs/{env}/containers",
    path: "/api/v1/envs/local/containers",
    body: {},
    allow: OPERATORS,
  },
  {
    route: "GET /api/v1/envs/{env}/containers/{id}",
    path: "/api/v1/envs/local/containers/{owned}",
    allow: OWNER_READ,
  },
  {
    route: "POST /api/v1/envs/{env}/containers/{id}/rename",
    path: "/api/v1/envs/local/containers/{owned}/rename",
    allow: OPERATORS,
  },
  // it is running already: nothing happens to those let through (204)
  {
    route: "POST /api/v1/envs/{env}/containers/{id}/{action}",
    path: "/api/v1/envs/local/containers/{owned}/start",
    allow: OWNER_WRITE,
  },
  // running, and no ?force: 409 to those let through
  {
    route: "DELETE /api/v1/envs/{env}/containers/{id}",
    path: "/api/v1/envs/local/containers/{owned}",
    allow: OWNER_WRITE,
  },
  {
    route: "GET /api/v1/envs/{env}/containers/{id}/logs",
    path: "/api/v1/envs/local/containers/{owned}/logs?tail=1",
    allow: OWNER_READ,
  },
  { route: "GET /api/v1/envs/{env}/stats", path: "/api/v1/envs/local/stats", allow: LOGGED_IN },
  {
    route: "GET /api/v1/envs/{env}/stats/history",
    path: "/api/v1/envs/local/stats/history?id={owned}",
    allow: OWNER_READ,
  },
  { route: "GET /api/v1/envs/{env}/host", path: "/api/v1/envs/local/host", allow: ENGINE_ADMIN_READ },
  { route: "GET /metrics", path: "/metrics", allow: ENGINE_ADMIN_READ },
  { route: "GET /api/v1/settings/security", path: "/api/v1/settings/security", allow: ADMIN },
  { route: "GET /api/v1/audit", path: "/api/v1/audit?limit=1", allow: ADMIN_READ },
  { route: "GET /api/v1/audit/export", path: "/api/v1/audit/export?format=jsonl&limit=1", allow: ADMIN_READ },
  { route: "GET /api/v1/settings/audit", path: "/api/v1/settings/audit", allow: ADMIN_READ },
  { route: "PUT /api/v1/settings/audit", path: "/api/v1/settings/audit", body: {}, allow: ADMIN },
  { route: "PUT /api/v1/settings/security", path: "/api/v1/settings/security", body: {}, allow: ADMIN },
  { route: "GET /api/v1/envs/{env}/jobs", path: "/api/v1/envs/local/jobs", allow: LOGGED_IN },
  // not a job id: 400 to those let through
  { route: "GET /api/v1/envs/{env}/jobs/{id}", path: "/api/v1/envs/local/jobs/x", allow: LOGGED_IN },
  {
    route: "POST /api/v1/envs/{env}/jobs/{id}/cancel",
    path: "/api/v1/envs/local/jobs/x/cancel",
    allow: OPERATORS,
  },
  // not a WebSocket request: 426 to those let through
  { route: "GET /api/v1/stream", path: "/api/v1/stream", allow: LOGGED_IN },
  // no topics: 400 to those let through
  { route: "GET /api/v1/stream/feed", path: "/api/v1/stream/feed", allow: LOGGED_IN },
  // no agent listener: 409 to those let through
  { route: "GET /api/v1/stream/quic", path: "/api/v1/stream/quic", allow: LOGGED_IN },
  { route: "GET /api/v1/envs/{env}/networks", path: "/api/v1/envs/local/networks", allow: LOGGED_IN },
  {
    route: "POST /api/v1/envs/{env}/networks",
    path: "/api/v1/envs/local/networks",
    body: {},
    allow: OPERATORS,
  },
  {
    route: "GET /api/v1/envs/{env}/networks/prune",
    path: "/api/v1/envs/local/networks/prune?label=bad%20key",
    allow: ENGINE_ADMIN,
  },
  // a label the handler refuses (400): never an engine-wide prune in a test
  {
    route: "POST /api/v1/envs/{env}/networks/prune",
    path: "/api/v1/envs/local/networks/prune?label=bad%20key",
    allow: ENGINE_ADMIN,
  },
  {
    route: "GET /api/v1/envs/{env}/networks/{id}",
    path: "/api/v1/envs/local/networks/{ownednet}",
    allow: OWNER_READ,
  },
  // the owned container is attached already: 409 to those let through
  {
    route: "POST /api/v1/envs/{env}/networks/{id}/connect",
    path: "/api/v1/envs/local/networks/{ownednet}/connect",
    body: { Container: "{owned}" },
    allow: OWNER_WRITE,
  },
  {
    route: "POST /api/v1/envs/{env}/networks/{id}/disconnect",
    path: "/api/v1/envs/local/networks/{ownednet}/disconnect",
    body: { Container: "{owned}", Force: "no" },
    allow: OPERATORS,
  },
  // the owned container is attached: 409 to those let through
  {
    route: "DELETE /api/v1/envs/{env}/networks/{id}",
    path: "/api/v1/envs/local/networks/{ownednet}",
    allow: OWNER_WRITE,
  },
  {
    route: "GET /api/v1/envs/{env}/system/info",
    path: "/api/v1/envs/local/system/info",
    allow: ENGINE_ADMIN_READ,
  },
  {
    route: "GET /api/v1/envs/{env}/system/df",
    path: "/api/v1/envs/local/system/df",
    allow: ENGINE_ADMIN_READ,
  },
  { route: "GET /api/v1/envs/{env}/events", path: "/api/v1/envs/local/events", allow: LOGGED_IN },
  {
    route: "GET /api/v1/envs/{env}/system/prune",
    path: "/api/v1/envs/local/system/prune?label=bad%20key",
    allow: ENGINE_ADMIN,
  },
  {
    route: "POST /api/v1/envs/{env}/system/prune",
    path: "/api/v1/envs/local/system/prune?label=bad%20key",
    allow: ENGINE_ADMIN,
  },
  { route: "GET /api/v1/envs/{env}/volumes", path: "/api/v1/envs/local/volumes", allow: LOGGED_IN },
  {
    route: "POST /api/v1/envs/{env}/volumes",
    path: "/api/v1/envs/local/volumes",
    body: {},
    allow: OPERATORS,
  },
  {
    route: "GET /api/v1/envs/{env}/volumes/_sizes",
    path: "/api/v1/envs/local/volumes/_sizes",
    allow: LOGGED_IN,
  },
  {
    route: "GET /api/v1/envs/{env}/volumes/_prune",
    path: "/api/v1/envs/local/volumes/_prune",
    allow: ENGINE_ADMIN,
  },
  // a label nothing has: nothing is pruned for those let through
  {
    route: "POST /api/v1/envs/{env}/volumes/_prune",
    path: "/api/v1/envs/local/volumes/_prune?label=gptest-matrix-nothing",
    allow: ENGINE_ADMIN,
  },
  {
    route: "GET /api/v1/envs/{env}/volumes/{name}",
    path: "/api/v1/envs/local/volumes/{vol}",
    allow: OWNER_READ,
  },
  // a running container uses it: 409 to those let through
  {
    route: "DELETE /api/v1/envs/{env}/volumes/{name}",
    path: "/api/v1/envs/local/volumes/{vol}",
    allow: OWNER_WRITE,
  },
  {
    route: "GET /api/v1/envs/{env}/volumes/{name}/files",
    path: "/api/v1/envs/local/volumes/{vol}/files",
    allow: OWNER_WRITE,
  },
  // the root is a directory: 400 to those let through
  {
    route: "GET /api/v1/envs/{env}/volumes/{name}/file",
    path: "/api/v1/envs/local/volumes/{vol}/file?path=/",
    allow: OWNER_WRITE,
  },
  {
    route: "GET /api/v1/envs/{env}/volumes/{name}/backup",
    path: "/api/v1/envs/local/volumes/{vol}/backup",
    allow: OWNER_WRITE,
  },
  // in use by a running container: 409 to those let through
  {
    route: "POST /api/v1/envs/{env}/volumes/{name}/restore",
    path: "/api/v1/envs/local/volumes/{vol}/restore",
    body: {},
    allow: OWNER_WRITE,
  },
  // The Vesla Console's routes (src/vesla/): {owned} is found by container name as the seed did.
  { route: "GET /health", path: "/health", allow: ANYONE },
  { route: "GET /api/apps", path: "/api/apps", allow: LOGGED_IN },
  { route: "GET /api/apps/{name}/logs", path: "/api/apps/{owned}/logs?tail=1", allow: OWNER_READ },
  { route: "GET /api/apps/{name}/stats", path: "/api/apps/{owned}/stats", allow: OWNER_READ },
  // it is running already: nothing happens to those let through (200)
  {
    route: "POST /api/apps/{name}/action",
    path: "/api/apps/{owned}/action",
    body: { action: "start" },
    allow: OWNER_WRITE,
  },
  // a list filtered to what the caller may see: 200 to every logged-in caller
  {
    route: "GET /api/v1/envs/{env}/deployments",
    path: "/api/v1/envs/local/deployments?name={owned}",
    allow: LOGGED_IN,
  },
  { route: "GET /api/v1/alerts", path: "/api/v1/alerts", allow: LOGGED_IN },
  // id 0 is refused by the schema (400) once past the gate
  { route: "POST /api/v1/alerts/{id}/ack", path: "/api/v1/alerts/0/ack", allow: OPERATORS },
  { route: "GET /api/v1/alerts/rules", path: "/api/v1/alerts/rules", allow: ADMIN },
  { route: "POST /api/v1/alerts/rules", path: "/api/v1/alerts/rules", body: {}, allow: ADMIN },
  { route: "PUT /api/v1/alerts/rules/{id}", path: "/api/v1/alerts/rules/0", body: {}, allow: ADMIN },
  { route: "DELETE /api/v1/alerts/rules/{id}", path: "/api/v1/alerts/rules/0", allow: ADMIN },
  {
    route: "POST /api/v1/alerts/rules/{id}/silence",
    path: "/api/v1/alerts/rules/0/silence",
    body: {},
    allow: ADMIN,
  },
  { route: "GET /api/v1/alerts/webhooks", path: "/api/v1/alerts/webhooks", allow: ADMIN },
  { route: "POST /api/v1/alerts/webhooks", path: "/api/v1/alerts/webhooks", body: {}, allow: ADMIN },
  { route: "DELETE /api/v1/alerts/webhooks/{id}", path: "/api/v1/alerts/webhooks/0", allow: ADMIN },
  { route: "GET /api/v1/alerts/deliveries", path: "/api/v1/alerts/deliveries", allow: ADMIN },
  // images: {image} is the test image, read and never changed
  { route: "GET /api/v1/envs/{env}/images", path: "/api/v1/envs/local/images", allow: LOGGED_IN },
  {
    route: "GET /api/v1/envs/{env}/images/{id}",
    path: "/api/v1/envs/local/images/{image}",
    allow: LOGGED_IN,
  },
  {
    route: "GET /api/v1/envs/{env}/images/{id}/history",
    path: "/api/v1/envs/local/images/{image}/history",
    allow: LOGGED_IN,
  },
  // a preview only, of a label nothing has
  {
    route: "GET /api/v1/envs/{env}/images/prune",
    path: "/api/v1/envs/local/images/prune?label=matrix.none",
    allow: ENGINE_ADMIN,
  },
  // the bodies and queries below are refused after the gate (400): nothing is pulled, removed or built
  {
    route: "POST /api/v1/envs/{env}/images/prune",
    path: "/api/v1/envs/local/images/prune",
    body: { all: "no" },
    allow: ENGINE_ADMIN,
  },
  {
    route: "POST /api/v1/envs/{env}/images/{id}/tag",
    path: "/api/v1/envs/local/images/{image}/tag",
    body: {},
    allow: ENGINE_ADMIN,
  },
  {
    route: "DELETE /api/v1/envs/{env}/images/{id}",
    path: "/api/v1/envs/local/images/{image}?tag=Not%20A%20Tag",
    allow: ENGINE_ADMIN,
  },
  {
    route: "POST /api/v1/envs/{env}/images/pull",
    path: "/api/v1/envs/local/images/pull",
    body: {},
    allow: OPERATORS,
  },
  {
    route: "POST /api/v1/envs/{env}/images/push",
    path: "/api/v1/envs/local/images/push",
    body: {},
    allow: ENGINE_ADMIN,
  },
  { route: "GET /api/v1/envs/{env}/images/get", path: "/api/v1/envs/local/images/get", allow: OPERATORS },
  {
    route: "POST /api/v1/envs/{env}/images/import",
    path: "/api/v1/envs/local/images/import?reference=Not%20A%20Tag",
    allow: ENGINE_ADMIN,
  },
  {
    route: "POST /api/v1/envs/{env}/images/load",
    path: "/api/v1/envs/local/images/load",
    allow: ENGINE_ADMIN,
  },
  {
    route: "POST /api/v1/envs/{env}/images/build",
    path: "/api/v1/envs/local/images/build",
    body: {},
    allow: ENGINE_ADMIN,
  },
  {
    route: "POST /api/v1/envs/{env}/images/build/upload",
    path: "/api/v1/envs/local/images/build/upload?networkmode=host",
    allow: ENGINE_ADMIN,
  },
  { route: "GET /api/v1/registries", path: "/api/v1/registries", allow: REGISTRY_READ },
  { route: "POST /api/v1/registries", path: "/api/v1/registries", body: {}, allow: ADMIN },
  // registry 0 is not an id: 400 to those let through
  { route: "PUT /api/v1/registries/{id}", path: "/api/v1/registries/0", body: {}, allow: ADMIN },
  { route: "DELETE /api/v1/registries/{id}", path: "/api/v1/registries/0", allow: ADMIN },
  { route: "POST /api/v1/registries/{id}/test", path: "/api/v1/registries/0/test", allow: ADMIN },
  { route: "POST /api/v1/registries/test", path: "/api/v1/registries/test", body: {}, allow: ADMIN },
  {
    route: "GET /api/v1/registries/{id}/repositories",
    path: "/api/v1/registries/0/repositories",
    allow: REGISTRY_READ,
  },
  { route: "GET /api/v1/registries/{id}/tags", path: "/api/v1/registries/0/tags", allow: REGISTRY_READ },
  { route: "GET /api/v1/envs/{env}/updates", path: "/api/v1/envs/local/updates", allow: LOGGED_IN },
  // the test image has no registry digest: checked without asking any registry
  {
    route: "POST /api/v1/envs/{env}/updates/check",
    path: "/api/v1/envs/local/updates/check?container={owned}",
    allow: OWNER_WRITE,
  },
  { route: "GET /api/v1/settings/updates", path: "/api/v1/settings/updates", allow: ADMIN },
  { route: "PUT /api/v1/settings/updates", path: "/api/v1/settings/updates", body: {}, allow: ADMIN },
  // not a flag: 400 to those let through, before anything is pulled or made
  {
    route: "POST /api/v1/envs/{env}/containers/{id}/recreate",
    path: "/api/v1/envs/local/containers/{owned}/recreate?pull=maybe",
    allow: OPERATORS,
  },
  // nothing to change: 400 to those let through
  { route: "PATCH /api/v1/envs/{env}", path: "/api/v1/envs/local", body: {}, allow: ADMIN },
  { route: "GET /api/v1/overview", path: "/api/v1/overview", allow: LOGGED_IN },
  // a body without a name: 400 to those let through, before any token is made
  { route: "POST /api/v1/agents/join-tokens", path: "/api/v1/agents/join-tokens", body: {}, allow: ADMIN },
  // an agent proves its key inside the link, not as a caller: 409 here (no --agent-listen) to anyone
  { route: "GET /api/v1/agents/link", path: "/api/v1/agents/link", allow: ANYONE },
  // an empty update names nothing to change: 400 to the container's owners, before the engine is asked
  {
    route: "POST /api/v1/envs/{env}/containers/{id}/update",
    path: "/api/v1/envs/local/containers/{owned}/update",
    body: {},
    allow: OWNER_WRITE,
  },
  // no Image: 400 to those let through, before anything is set aside
  {
    route: "POST /api/v1/envs/{env}/containers/{id}/edit",
    path: "/api/v1/envs/local/containers/{owned}/edit",
    body: {},
    allow: OPERATORS,
  },
];

interface TopicSample {
  topic: string;
  allow: Set<CallerKind>;
}

const TOPICS: TopicSample[] = [
  { topic: "envs", allow: LOGGED_IN },
  { topic: "containers:local", allow: LOGGED_IN },
  { topic: "stats:local", allow: LOGGED_IN },
  { topic: "jobs:local", allow: LOGGED_IN },
  { topic: "host:local", allow: ENGINE_ADMIN_READ },
  { topic: "logs:local:{owned}", allow: OWNER_READ },
  // {session}: each caller's own terminal, so that one caller's closing shell never answers "busy"
  { topic: "exec:local:{owned}:{session}", allow: OWNER_WRITE },
  { topic: "networks:local", allow: LOGGED_IN },
  { topic: "events:local", allow: LOGGED_IN },
  { topic: "volumes:local", allow: LOGGED_IN },
  { topic: "images:local", allow: LOGGED_IN },
  { topic: "updates:local", allow: LOGGED_IN },
  { topic: "alerts", allow: LOGGED_IN },
];

const DENIED = new Set([401, 403, 404]);

describe("access matrix: every route and topic against every caller", () => {
  let p: TestPanel;
  const tokens = new Map<CallerKind, string>();
  let owned = "";
  let unowned = "";
  const ownednet = uniqueName("alphanet");
  const ownedVolume = uniqueName("alpha-vol");

  let image = "";
  const fill = (s: string) =>
    s
      .replaceAll("{owned}", owned)
      .replaceAll("{ownednet}", ownednet)
      .replaceAll("{vol}", ownedVolume)
      .replaceAll("{image}", image);

  beforeAll(async () => {
    // Three kinds of caller without valid credentials, forty refusals each: more than an address
    // may have by default (tests/integration/anonymous-limit.test.ts tests that limit).
    p = await startTestPanel(["--anonymous-limit", "0"]);
    owned = uniqueName("alpha");
    image = docker("image", "inspect", "--format", "{{.Id}}", TEST_IMAGE);
    unowned = uniqueName("nobody");
    // It logs a line, so that its logs topic has something to send.
    runContainer(owned, ["sh", "-c", "echo ready; exec sleep 3600"], ["--label", "ghostpanel.team=alpha"]);
    runContainer(unowned);
    docker("network", "create", "--label", RUN_LABEL, "--label", "ghostpanel.team=alpha", ownednet);
    docker("network", "connect", ownednet, owned);
    docker("volume", "create", "--label", "ghostpanel.team=alpha", ownedVolume);
    runContainer(uniqueName("vol-user"), ["sleep", "3600"], ["-v", `${ownedVolume}:/data`]);
    await eventually(async () => {
      const res = await p.api("GET", "/api/v1/envs/local/containers");
      return res.body.some((c: { name: string }) => c.name === owned) ? true : undefined;
    });

    const made = async (username: string, role: string) => {
      const res = await p.api("POST", "/api/v1/users", { username, password: "matrix-password", role });
      expect(res.status).toBe(201);
      return res.body.id as number;
    };
    const tokenOf = (username: string) =>
      tokenFor(p.url, { username, password: "matrix-password" }, "matrix");
    await made("m-operator", "operator");
    await made("m-viewer", "viewer");
    const alpha = await made("m-alpha", "operator");
    const beta = await made("m-beta", "operator");
    for (const [name, member] of [
      ["alpha", alpha],
      ["beta", beta],
    ] as const) {
      const team = await p.api("POST", "/api/v1/teams", { name });
      expect(team.status).toBe(201);
      expect((await p.api("PUT", `/api/v1/teams/${team.body.id}`, { members: [member] })).status).toBe(200);
    }
    tokens.set("admin", p.token);
    tokens.set("operator", await tokenOf("m-operator"));
    tokens.set("viewer", await tokenOf("m-viewer"));
    tokens.set("alpha", await tokenOf("m-alpha"));
    tokens.set("beta", await tokenOf("m-beta"));
    const ro = await p.api("POST", "/api/v1/tokens", { name: "ro", scope: "read" });
    tokens.set("admin-readonly", ro.body.token);
    const expiring = await p.api("POST", "/api/v1/tokens", { name: "old", expires_in_days: 1 });
    tokens.set("expired", expiring.body.token);
    // A day is too long to wait: its expiry is moved into the past, as time would.
    const db = new Database(join(p.dataDir, "ghostpanel.db"));
    db.query("UPDATE api_tokens SET expires_at = ? WHERE id = ?").run(Date.now() - 1000, expiring.body.id);
    db.close();
    const revoked = await p.api("POST", "/api/v1/tokens", { name: "gone" });
    expect((await p.api("DELETE", `/api/v1/tokens/${revoked.body.id}`)).status).toBe(204);
    tokens.set("revoked", revoked.body.token);
    const limited = await p.api("POST", "/api/v1/tokens", { name: "local only", envs: ["local"] });
    tokens.set("limited", limited.body.token);
  }, 60_000);

  afterAll(async () => {
    await p?.stop();
    cleanupEngine();
    cleanupNetworks();
    docker("volume", "rm", "-f", ownedVolume);
  });

  it("has a sample for every route the panel serves, and no sample for a route it does not", () => {
    const served = p.panel.routes.map((r) => `${r.method.toUpperCase()} ${r.path}`).sort();
    const sampled = SAMPLES.map((s) => s.route).sort();
    expect(sampled).toEqual(served);
    expect(p.panel.routes.every((r) => r.policy)).toBe(true);
  });

  const call = async (caller: CallerKind, s: Sample) => {
    const headers: Record<string, string> = {};
    const token = tokens.get(caller);
    if (token) headers.authorization = `Bearer ${token}`;
    if (s.body !== undefined) headers["content-type"] = "application/json";
    const method = s.route.split(" ")[0]!;
    const res = await fetch(p.url + fill(s.path), {
      method,
      headers,
      body: s.body === undefined ? undefined : fill(JSON.stringify(s.body)),
    });
    await res.arrayBuffer();
    return res.status;
  };

  for (const caller of CALLERS) {
    it(`routes, as ${caller}`, async () => {
      const wrong: string[] = [];
      for (const s of SAMPLES) {
        const status = await call(caller, s);
        const expected = s.allow.has(caller) ? "allow" : "deny";
        const got = DENIED.has(status) ? "deny" : "allow";
        if (status >= 500) wrong.push(`${s.route}: ${status}`);
        else if (got !== expected) wrong.push(`${s.route}: expected ${expected}, got ${status}`);
      }
      expect(wrong).toEqual([]);
    });

    // The same topics over both transports: the WebSocket and the feed (a streaming response).
    for (const transport of ["websocket", "feed"] as const) {
      it(`stream topics over the ${transport}, as ${caller}`, async () => {
        const token = tokens.get(caller);
        const path = transport === "feed" ? "/api/v1/stream/feed?topics=envs" : "/api/v1/stream";
        if (!token) {
          const res = await fetch(`${p.url}${path}`, { headers: { upgrade: "websocket" } });
          expect(res.status).toBe(401);
          return;
        }
        if (!LOGGED_IN.has(caller)) {
          const res = await fetch(`${p.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
          expect(res.status).toBe(401);
          return;
        }
        const topicOf = (t: TopicSample) =>
          fill(t.topic).replace("{session}", `matrix-${caller}-${transport}`);
        const topics = TOPICS.map(topicOf);
        const client =
          transport === "feed"
            ? new FeedClient(p.url, token, topics)
            : new StreamClient(p.url, token, topics);
        try {
          await client.open();
          const wrong: string[] = [];
          for (const t of TOPICS) {
            const topic = topicOf(t);
            const expected = t.allow.has(caller) ? "allow" : "deny";
            // host frames come once a tick; the others send their first frame on subscribe
            const first = await client.next((f) => f.t === topic, 5_000).catch(() => undefined);
            const got = first === undefined || first.k === "error" ? "deny" : "allow";
            if (got !== expected)
              wrong.push(`${t.topic}: expected ${expected}, got ${first?.k ?? "nothing"}`);
          }
          expect(wrong).toEqual([]);
        } finally {
          client.close();
        }
      });
    }
  }

  it("tells a token limited to one engine nothing of the others, nor of the tokens that reach them", async () => {
    // The same engine under a second name: up, with containers, and not the limited token's.
    const url = process.env.GHOSTPANEL_TEST_ENGINE ?? "unix:///var/run/docker.sock";
    expect((await p.api("POST", "/api/v1/envs", { name: "matrix-other", url })).status).toBe(201);
    const victim = await p.api("POST", "/api/v1/tokens", { name: "reaches everything" });
    const as = async (caller: CallerKind | "anonymous", path: string, method = "GET") => {
      const token = tokens.get(caller as CallerKind);
      const res = await fetch(p.url + path, {
        method,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
    };
    const ids = (list: { id: string }[]) => list.map((e) => e.id).sort();
    try {
      await eventually(async () =>
        (await as("admin", "/api/v1/envs/matrix-other")).body.status === "up" ? true : undefined,
      );
      expect(ids((await as("limited", "/api/v1/envs")).body)).toEqual(["local"]);
      expect(ids((await as("admin", "/api/v1/envs")).body)).toEqual(["local", "matrix-other"]);
      expect(ids((await as("limited", "/healthz")).body.engines)).toEqual(["local"]);
      expect(ids((await as("admin", "/healthz")).body.engines)).toEqual(["local", "matrix-other"]);
      // Anonymous: whether the panel's own engine answers, and no error text.
      expect((await as("anonymous", "/healthz")).body.engines).toEqual([{ id: "local", status: "up" }]);
      for (const path of ["/api/v1/envs/matrix-other", "/api/v1/envs/matrix-other/containers"]) {
        expect((await as("limited", path)).status, path).toBe(403);
      }
      const metrics = await fetch(`${p.url}/metrics`, {
        headers: { authorization: `Bearer ${tokens.get("limited")}` },
      });
      expect(await metrics.text()).not.toContain("matrix-other");

      const client = new StreamClient(p.url, tokens.get("limited")!, ["envs", "containers:matrix-other"]);
      try {
        const listed = await client.next((f) => f.t === "envs");
        expect(ids(listed.d)).toEqual(["local"]);
        expect((await client.next((f) => f.t === "containers:matrix-other")).k).toBe("error");
      } finally {
        client.close();
      }

      const seen = (await as("limited", "/api/v1/tokens")).body.map((t: { name: string }) => t.name);
      expect(seen).toEqual(["local only"]);
      expect((await as("limited", `/api/v1/tokens/${victim.body.id}`, "DELETE")).status).toBe(404);
      expect((await p.api("GET", "/api/v1/tokens")).body.map((t: { id: number }) => t.id)).toContain(
        victim.body.id,
      );
    } finally {
      await p.api("DELETE", `/api/v1/tokens/${victim.body.id}`);
      await p.api("DELETE", "/api/v1/envs/matrix-other");
    }
  }, 30_000);

  it("lists, streams and stats show a team member only its team's containers", async () => {
    const names = async (caller: CallerKind) =>
      (
        (await (
          await fetch(`${p.url}/api/v1/envs/local/containers`, {
            headers: { authorization: `Bearer ${tokens.get(caller)}` },
          })
        ).json()) as { name: string }[]
      ).map((c) => c.name);
    expect(await names("alpha")).toEqual([owned]);
    expect(await names("beta")).toEqual([]);
    expect(await names("viewer")).toEqual([]);
    expect(await names("admin")).toEqual(expect.arrayContaining([owned, unowned]));

    const client = new StreamClient(p.url, tokens.get("alpha")!, ["containers:local", "stats:local"]);
    try {
      const snapshot = await client.next((f) => f.t === "containers:local" && f.k === "snapshot");
      expect(snapshot.d.map((c: { name: string }) => c.name)).toEqual([owned]);
      // The first tick that carries figures names only the owned container.
      const rows = await eventually(async () => {
        const named = client.frames
          .filter((f: Frame) => f.t === "stats:local")
          .flatMap((f) => (f.k === "key" ? f.d.c : (f.d.n ?? [])))
          .map((r: unknown[]) => r[2]);
        return named.length ? named : undefined;
      }, 15_000);
      expect([...new Set(rows)]).toEqual([owned]);
    } finally {
      client.close();
    }
    const stats = await fetch(`${p.url}/api/v1/envs/local/stats`, {
      headers: { authorization: `Bearer ${tokens.get("alpha")}` },
    });
    expect(((await stats.json()) as { name: string }[]).map((s) => s.name)).toEqual([owned]);
  }, 30_000);

  it("streams a team member the creation and removal of its team's containers only", async () => {
    const client = new StreamClient(p.url, tokens.get("alpha")!, ["containers:local"]);
    try {
      await client.next((f) => f.k === "snapshot");
      const mine = runContainer(
        uniqueName("alpha-more"),
        ["sleep", "3600"],
        ["--label", "ghostpanel.team=alpha"],
      );
      const theirs = runContainer(
        uniqueName("beta-more"),
        ["sleep", "3600"],
        ["--label", "ghostpanel.team=beta"],
      );
      await client.next((f) => f.k === "upsert" && f.d.id === mine);
      docker("rm", "-f", theirs, mine);
      await client.next((f) => f.k === "remove" && f.d.id === mine);
      // The other team's container came and went without a word to this subscriber.
      expect(client.frames.filter((f) => f.d?.id === theirs)).toEqual([]);
    } finally {
      client.close();
    }
  }, 30_000);
});
