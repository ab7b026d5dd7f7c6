/** How many bytes a long stream passes between two full collections (why this many: docs/decisions.md). */
export const COLLECT_EVERY_BYTES = 4 * 1024 * 1024;

/**
 * `stream` as it is, with a full garbage collection each time another `every` bytes have passed.
 * Every chunk of a long stream (the engine's archive as fetch hands it over, gzip's output) is a
 * new buffer, dead as soon as the next stage has it; JSC frees such buffers only when it collects,
 * and it collects later the larger the panel's heap is, so a 256 MiB backup grew the panel's
 * resident memory by 26–34 MiB. Collecting every 4 MiB read (about 8 MiB of dead chunks, in and
 * out) held it to 11–19 MiB; every 16 MiB did not help in the panel.
 */
export function collectAsRead(
  stream: ReadableStream<Uint8Array>,
  every = COLLECT_EVERY_BYTES,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  let since = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await reader.read();
        if (next.done) return controller.close();
        since += next.value.length;
        if (since >= every) {
          since = 0;
          Bun.gc(true);
        }
        controller.enqueue(next.value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
