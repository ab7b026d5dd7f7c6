import { turn } from "./turn.ts";

/**
 * Loads the rest of the panel behind the listener (src/server/listen.ts) a piece at a time, the event
 * loop turning between pieces: a request that comes in meanwhile (the first /healthz, a supervisor's
 * probe) waits for one piece, a few ms of CPU, instead of for all of serve.ts's imports at once
 * (~30 ms of CPU in the executable, measured; docs/decisions.md, #14). The pieces are the costliest
 * of those imports; loading one here only means serve.ts finds it loaded. `beforePanel` is one of
 * them (the executable embeds the UI there, build.ts). Node's stream and crypto modules were two,
 * ~10 ms each, until nothing an idle panel runs needed them (docs/decisions.md, "what loads at idle").
 */
export async function loadPanel(beforePanel?: () => Promise<void>): Promise<typeof import("./serve.ts")> {
  // Cheapest first: the first request most often comes in during the first pieces.
  const pieces = [
    () => import("bun:sqlite"),
    () => import("../store/database.ts"),
    beforePanel,
    () => import("msgpackr/pack"),
  ];
  for (const piece of pieces) {
    await turn();
    await piece?.();
  }
  await turn();
  return import("./serve.ts");
}
