/**
 * Routes whose request body is a file streamed on to the engine (a volume's restore), not JSON:
 * the panel's 1 MiB body limit (src/server/app.ts) is not theirs; they count what they read
 * against MAX_UPLOAD_BYTES themselves, as it flows, and never hold it whole.
 */
export const STREAMED_UPLOADS: RegExp[] = [/^\/api\/v1\/envs\/[^/]+\/volumes\/[^/]+\/restore$/];

/** The most a streamed upload may carry; Bun.serve's own request limit is raised to it. */
export const MAX_UPLOAD_BYTES = 64 * 1024 ** 3;
