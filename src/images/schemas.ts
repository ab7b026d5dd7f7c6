import * as z from "zod/mini";
import { EnvParam } from "../http/schemas.ts";
import { type ImageReference, ImageReferenceError, parseReference } from "../registries/reference.ts";

/** An image id as the engine takes it in a path: full ("sha256:<64 hex>") or a unique prefix of 12+. */
export const ImageId = z
  .string()
  .check(z.regex(/^(sha256:)?[a-f0-9]{12,64}$/, "not an image id (sha256:<hex>, or 12 to 64 hex digits)"));

export const ImageParams = z.extend(EnvParam, { id: ImageId });

/** A reference read as the engine will read it; anything parseReference refuses is a 400 naming why. */
export const Reference = z.pipe(
  z.string().check(z.maxLength(512)),
  z.transform((text, ctx): ImageReference => {
    try {
      return parseReference(text);
    } catch (err) {
      ctx.issues.push({
        code: "custom",
        input: text,
        message: err instanceof ImageReferenceError ? err.message : "not an image reference",
      });
      return z.NEVER;
    }
  }),
);

/** A reference that names a tag, not a digest: what tag, push and build name. */
export const TagReference = Reference.check(
  z.refine((ref) => ref.digest === undefined, "a tag, not a digest (repo:tag)"),
);

/** Label keys and values as `docker build --label` and `--filter label=` take them, bounded. */
const LabelKey = z
  .string()
  .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, "a label key: letters, digits, . _ / -"));
export const Labels = z
  .record(LabelKey, z.string().check(z.maxLength(1024)))
  .check(z.refine((r) => Object.keys(r).length <= 32, "at most 32 labels"));

/** `key` or `key=value`, as the engine's `label` filter reads it. */
export const LabelFilter = z
  .string()
  .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}(=[^\s]{0,256})?$/, "a label filter: key or key=value"));

/** A query value given once is a string, several times an array: always a list here, each item checked. */
export const queryList = <T extends z.ZodMiniType<unknown, string>>(item: T, max: number) =>
  z.pipe(
    z.pipe(
      z.optional(z.union([z.string(), z.array(z.string())])),
      z.transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
    ),
    z.array(item).check(z.maxLength(max)),
  );
