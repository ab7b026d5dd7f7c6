// The baseline for the RSS and start-up benchmarks: the smallest useful compiled Bun server.
// bench/run.ts compiles it with `bun build --compile` into a temp dir. Usage: minimal-server PORT
const port = Number(process.argv[2] ?? 0);
Bun.serve({
  hostname: "127.0.0.1",
  port,
  fetch() {
    return new Response("ok");
  },
});
