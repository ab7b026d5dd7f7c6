// Limits the listener needs before the rest of the panel is loaded (src/server/listen.ts): kept
// in a file that imports nothing, so binding the port does not wait for the modules that use them.

/**
 * The most any upload route takes (an image tar, a build context, a volume's backup); each route
 * may say less. Bun.serve's own request limit is raised to it (src/server/listen.ts).
 */
export const MAX_UPLOAD_BYTES = 64 * 1024 ** 3;

/**
 * Past this many bytes waiting to go out, a stream client is too slow to keep: it is closed and
 * reconnects (src/stream/websocket.ts). Bun's own limit is twice that, so ours acts first.
 */
export const SEND_BUFFER_LIMIT = 1024 * 1024;
