import type { AppContext } from "./context.ts";
import { ApiError } from "./errors.ts";
import { allowSlowRequest } from "./long-request.ts";

export { MAX_UPLOAD_BYTES } from "./limits.ts";

export interface Upload {
  /** the request's bytes as they arrive, erroring past the route's limit */
  body: ReadableStream<Uint8Array>;
  /** settles with the byte count once the whole body has been read (by whoever reads `body`) */
  read: Promise<number>;
}

/**
 * A route's streamed request body (routes that declare `upload`, exempt from the small JSON body
 * limit): never held in memory, counted as it passes, and cut off with a 413 past `maxBytes`
 * whether or not the client said its length.
 */
export function uploadOf(c: AppContext, maxBytes: number): Upload {
  const raw = c.req.raw.body;
  if (!raw) throw new ApiError(400, "invalid_request", "body: the upload is missing");
  const declared = Number(c.req.header("content-length") ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  // A slow uplink, or an engine that takes its time with what it was sent.
  allowSlowRequest(c, 0);
  let size = 0;
  let done: (n: number) => void = () => {};
  let failed: (err: unknown) => void = () => {};
  const read = new Promise<number>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  // Seen only if nobody reads the body to its end (an engine that refused it at once).
  read.catch(() => {});
  const body = raw.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (size > maxBytes) {
          const err = tooLarge(maxBytes);
          failed(err);
          controller.error(err);
          return;
        }
        controller.enqueue(chunk);
      },
      flush() {
        done(size);
      },
    }),
  );
  return { body, read };
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, "body_too_large", `the upload is over ${maxBytes} bytes`);
}
