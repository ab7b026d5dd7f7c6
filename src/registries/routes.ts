import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import { ApiError } from "../http/errors.ts";
import { allowRegistryWait } from "../http/long-request.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, errorResponse, json } from "../http/schemas.ts";
import { parseRegistryUrl, type RegistryAddress, RegistryAddressError } from "./address.ts";
import { RegistryClient } from "./client.ts";
import type { Registry, RegistryStore } from "./store.ts";

const RegistrySchema = z.object({
  id: z.number(),
  name: z.string(),
  url: z.string(),
  host: z.string(),
  username: z.optional(z.string()),
  has_password: z.optional(z.boolean()),
  created_at: z.optional(z.number()),
});

const Name = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(64),
    z.regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]*$/, "letters, digits, space _ . -"),
  );
const Username = z.string().check(z.maxLength(256));
// A password or an access token (GitHub, GitLab and Docker Hub take a token in its place).
const Secret = z.string().check(z.maxLength(4096));
const Url = z.string().check(z.minLength(1), z.maxLength(512));

const AddBody = z.object({
  name: Name,
  url: Url,
  username: z.optional(Username),
  password: z.optional(Secret),
});
const EditBody = z.object({
  name: z.optional(Name),
  url: z.optional(Url),
  username: z.optional(Username),
  /** absent: kept; "": removed */
  password: z.optional(Secret),
});
const TestBody = z.object({ url: Url, username: z.optional(Username), password: z.optional(Secret) });

const IdParam = z.object({ id: z.coerce.number().check(z.int(), z.positive()) });
const Page = {
  n: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000)), 100),
  last: z.optional(z.string().check(z.maxLength(256))),
};
// distribution's repository name grammar: lower-case components separated by "/".
const Repository = z
  .string()
  .check(
    z.maxLength(255),
    z.regex(
      /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/,
      "not a repository name (lower-case components separated by /)",
    ),
  );

const TestResult = z.object({ ok: z.boolean(), message: z.string() });

function addressOf(url: string): RegistryAddress {
  try {
    return parseRegistryUrl(url);
  } catch (err) {
    if (err instanceof RegistryAddressError) throw new ApiError(400, "invalid_request", err.message);
    throw err;
  }
}

/**
 * Registries: admins add them with their login (sealed, never answered back), test the login, and
 * everyone who pulls sees their names and addresses and may browse them with the stored login.
 */
export function registryRoutes(
  routes: RouteTable,
  { registries, policy }: { registries: RegistryStore; policy: Policy },
): void {
  const found = (id: number): Registry => {
    const registry = registries.get(id);
    if (!registry) throw new ApiError(404, "not_found", `no registry ${id}`);
    return registry;
  };
  const clientOf = (registry: Registry) => new RegistryClient(registry.url, registries.loginOf(registry));
  const notTaken = (name: string, host: string, except?: number) => {
    const taken = registries.conflict(name, host, except);
    if (taken === "name") throw new ApiError(409, "conflict", `a registry is named "${name}" already`);
    if (taken === "host")
      throw new ApiError(409, "conflict", `${host} is added already: one login per registry host`);
  };

  routes.add(
    {
      method: "get",
      path: "/api/v1/registries",
      tag: "registries",
      policy: "registries:read",
      summary:
        "The registries: name and address for all; username and whether a password is stored for admins",
      responses: { 200: json(z.array(RegistrySchema), "Registries"), 401: commonErrors[401] },
    },
    (c) => {
      const all = registries.list();
      if (policy.can(callerOf(c), "registries:manage")) return c.json(all);
      return c.json(all.map(({ id, name, url, host }) => ({ id, name, url, host })));
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/registries",
      tag: "registries",
      policy: "registries:manage",
      summary:
        "Add a registry: https:// (http:// only on loopback), its username and password or access token (sealed, never shown again)",
      body: AddBody,
      responses: {
        201: json(RegistrySchema, "Added"),
        409: errorResponse("Name or host taken"),
        ...commonErrors,
      },
    },
    (c, { body }) => {
      const address = addressOf(body.url);
      noteAudit(c, { target: { name: body.name, host: address.host } });
      if (body.password && !body.username)
        throw new ApiError(400, "invalid_request", "username: a password needs its username");
      notTaken(body.name, address.host);
      const made = registries.add({
        name: body.name,
        ...address,
        username: body.username ?? "",
        password: body.password,
      });
      return c.json(made, 201);
    },
  );

  routes.add(
    {
      method: "put",
      path: "/api/v1/registries/{id}",
      tag: "registries",
      policy: "registries:manage",
      summary: "Change a registry; a password left out is kept, an empty one removed",
      params: IdParam,
      body: EditBody,
      responses: {
        200: json(RegistrySchema, "Changed"),
        409: errorResponse("Name or host taken"),
        ...commonErrors,
      },
    },
    (c, { params, body }) => {
      const before = found(params.id);
      noteAudit(c, { target: { name: before.name } });
      const address = body.url === undefined ? undefined : addressOf(body.url);
      notTaken(body.name ?? before.name, address?.host ?? before.host, before.id);
      const username = body.username ?? before.username;
      if (body.password && !username)
        throw new ApiError(400, "invalid_request", "username: a password needs its username");
      return c.json(registries.update(before.id, { ...body, ...address }));
    },
  );

  routes.add(
    {
      method: "delete",
      path: "/api/v1/registries/{id}",
      tag: "registries",
      policy: "registries:manage",
      summary: "Remove a registry and its sealed login",
      params: IdParam,
      responses: { 204: "Removed", ...commonErrors },
    },
    (c, { params }) => {
      noteAudit(c, { target: { name: found(params.id).name } });
      registries.remove(params.id);
      return c.body(null, 204);
    },
  );

  const tested = async (client: RegistryClient) => {
    await client.check();
    return { ok: true, message: `${client.origin} took the login` };
  };

  routes.add(
    {
      method: "post",
      path: "/api/v1/registries/{id}/test",
      tag: "registries",
      policy: "registries:manage",
      summary: "Log in to a stored registry (GET /v2/, basic or token auth): 200, or 400 when it refuses",
      params: IdParam,
      responses: {
        200: json(TestResult, "The registry took the login"),
        ...commonErrors,
        400: errorResponse("The registry refused the login, or invalid input"),
        502: errorResponse("The registry did not answer as a registry"),
      },
    },
    async (c, { params }) => {
      const registry = found(params.id);
      noteAudit(c, { target: { name: registry.name } });
      allowRegistryWait(c);
      return c.json(await tested(clientOf(registry)));
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/registries/test",
      tag: "registries",
      policy: "registries:manage",
      summary: "Try an address and login before adding them",
      body: TestBody,
      responses: {
        200: json(TestResult, "The registry took the login"),
        ...commonErrors,
        400: errorResponse("The registry refused the login, or invalid input"),
        502: errorResponse("The registry did not answer as a registry"),
      },
    },
    async (c, { body }) => {
      const address = addressOf(body.url);
      noteAudit(c, { target: { host: address.host } });
      const login = body.username ? { username: body.username, password: body.password ?? "" } : undefined;
      allowRegistryWait(c);
      return c.json(await tested(new RegistryClient(address.url, login)));
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/registries/{id}/repositories",
      tag: "registries",
      policy: "registries:read",
      summary: "A page of the registry's repositories (/v2/_catalog); `next` is the `last` of the next page",
      params: IdParam,
      query: z.object(Page),
      responses: {
        200: json(
          z.object({ repositories: z.array(z.string()), next: z.nullable(z.string()) }),
          "Repositories",
        ),
        ...commonErrors,
      },
    },
    async (c, { params, query }) => {
      allowRegistryWait(c);
      return c.json(await clientOf(found(params.id)).catalog(query.n, query.last));
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/registries/{id}/tags",
      tag: "registries",
      policy: "registries:read",
      summary: "A page of one repository's tags (/v2/<repository>/tags/list)",
      params: IdParam,
      query: z.object({ repository: Repository, ...Page }),
      responses: {
        200: json(z.object({ tags: z.array(z.string()), next: z.nullable(z.string()) }), "Tags"),
        ...commonErrors,
      },
    },
    async (c, { params, query }) => {
      allowRegistryWait(c);
      return c.json(await clientOf(found(params.id)).tags(query.repository, query.n, query.last));
    },
  );
}
