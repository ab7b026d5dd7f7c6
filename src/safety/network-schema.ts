import * as z from "zod/mini";
import { EndpointSettingsSchema, opt, strict } from "./create-schema.ts";
import { isIP } from "./ip.ts";
import { NETWORK_NAME } from "./rules.ts";

/**
 * Docker's NetworkCreateRequest, NetworkConnectRequest and NetworkDisconnectRequest (api/swagger.yaml
 * of the Engine API) as allowlists, like the container create body (create-schema.ts): every object
 * strict, a key in another case or Unicode folding refused with the one meant, and the engine sent
 * JSON made from the parsed value alone.
 */

/** The drivers the panel creates networks with; anything else (a plugin's) is for the CLI. */
export const NETWORK_DRIVERS = ["bridge", "macvlan", "ipvlan", "overlay"] as const;

export const NetworkName = z
  .string()
  .check(
    z.minLength(1, "a network needs a name"),
    z.maxLength(128),
    z.regex(NETWORK_NAME, "network names are letters, digits and _ . - (starting with a letter or digit)"),
  );

/** A container as a connect or disconnect names it: its name (a leading "/" allowed) or id. */
const ContainerRef = z
  .string()
  .check(z.maxLength(257), z.regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "not a container name or id"));

function parseCidr(text: string): { family: 4 | 6; bits: number; prefix: number; addr: bigint } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const family = isIP(m[1]!);
  const prefix = Number(m[2]);
  if (family === 0 || prefix > (family === 4 ? 32 : 128)) return undefined;
  return { family: family as 4 | 6, bits: family === 4 ? 32 : 128, prefix, addr: ipValue(m[1]!) };
}

function ipValue(ip: string): bigint {
  if (isIP(ip) === 4) return ip.split(".").reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
  const [head = "", tail] = ip.split("::");
  const groups = (s: string) => (s ? s.split(":") : []);
  // An IPv6 address may end in dotted IPv4 (::ffff:1.2.3.4): two groups' worth.
  const expand = (parts: string[]) =>
    parts.flatMap((p) => {
      if (!p.includes(".")) return [p];
      const v = Number(ipValue(p));
      return [(v >>> 16).toString(16), (v & 0xffff).toString(16)];
    });
  const left = expand(groups(head));
  const right = tail === undefined ? [] : expand(groups(tail));
  const all = [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return all.reduce((n, g) => (n << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

/** Whether `inner` (an address or a range) lies within `outer`. */
function within(outer: string, inner: string): boolean {
  const o = parseCidr(outer);
  const i = parseCidr(inner.includes("/") ? inner : `${inner}/${isIP(inner) === 4 ? 32 : 128}`);
  if (!o || !i || o.family !== i.family || i.prefix < o.prefix) return false;
  const shift = BigInt(o.bits - o.prefix);
  return o.addr >> shift === i.addr >> shift;
}

const Cidr = z
  .string()
  .check(
    z.refine((s) => parseCidr(s) !== undefined, "not a subnet in CIDR form (172.28.0.0/16, fd00:1::/64)"),
  );
const Ip = z.string().check(z.refine((s) => isIP(s) !== 0, "not an IP address"));

const IPAMConfigSchema = strict({
  Subnet: opt(Cidr),
  IPRange: opt(Cidr),
  Gateway: opt(Ip),
  AuxiliaryAddresses: opt(z.record(z.string(), Ip)),
}).check(
  z.superRefine((c, ctx) => {
    const outside = (field: string, value: string) =>
      ctx.addIssue({
        code: "custom",
        path: [field],
        message: `${value} is not inside the subnet ${c.Subnet}`,
        input: value,
      });
    if (!c.Subnet) {
      if (c.Gateway || c.IPRange)
        ctx.addIssue({
          code: "custom",
          path: ["Subnet"],
          message: "a gateway or IP range needs a subnet",
          input: c,
        });
      return;
    }
    if (c.Gateway && !within(c.Subnet, c.Gateway)) outside("Gateway", c.Gateway);
    if (c.IPRange && !within(c.Subnet, c.IPRange)) outside("IPRange", c.IPRange);
    for (const [name, ip] of Object.entries(c.AuxiliaryAddresses ?? {}))
      if (!within(c.Subnet, ip)) outside(`AuxiliaryAddresses.${name}`, ip);
  }),
);

export const IPAMSchema = strict({
  Driver: opt(z.string()),
  Config: opt(z.array(IPAMConfigSchema).check(z.maxLength(16))),
  Options: opt(z.record(z.string(), z.string())),
});

export const NetworkCreateSchema = strict({
  Name: NetworkName,
  Driver: opt(z.enum(NETWORK_DRIVERS)),
  Scope: opt(z.enum(["local", "swarm", "global"])),
  Internal: opt(z.boolean()),
  Attachable: opt(z.boolean()),
  Ingress: opt(z.boolean()),
  ConfigOnly: opt(z.boolean()),
  ConfigFrom: opt(strict({ Network: opt(NetworkName) })),
  IPAM: opt(IPAMSchema),
  EnableIPv4: opt(z.boolean()),
  EnableIPv6: opt(z.boolean()),
  Options: opt(z.record(z.string(), z.string())),
  Labels: opt(z.record(z.string(), z.string())),
});
export type NetworkCreate = z.output<typeof NetworkCreateSchema>;

export const NetworkConnectSchema = strict({
  Container: ContainerRef,
  EndpointConfig: opt(EndpointSettingsSchema),
});
export type NetworkConnect = z.output<typeof NetworkConnectSchema>;

export const NetworkDisconnectSchema = strict({
  Container: ContainerRef,
  Force: opt(z.boolean()),
});
