/**
 * `stream`, calling `done` once it ends, fails or its reader goes away (a download the browser
 * dropped): the helper behind it must not outlive it. The stream's end waits for `done`, so that a
 * client that has read everything finds the helper gone.
 */
export function finallyStream(
  stream: ReadableStream<Uint8Array>,
  done: () => Promise<void>,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  let finished: Promise<void> | undefined;
  const finish = () => (finished ??= done());
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let next: Awaited<ReturnType<typeof reader.read>>;
        try {
          next = await reader.read();
        } catch (err) {
          await finish();
          controller.error(err);
          return;
        }
        if (!next.done) return controller.enqueue(next.value);
        await finish();
        controller.close();
      },
      async cancel(reason) {
        await reader.cancel(reason).catch(() => {});
        await finish();
      },
    },
    { highWaterMark: 0 },
  );
}
