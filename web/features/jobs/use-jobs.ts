import { topic } from "../../../src/protocol/topics.ts";
import type { JobItem } from "../../../src/protocol/views.ts";
import { useEnv } from "../../app/contexts.ts";
import { useLiveCollection } from "../../lib/live.ts";

/** The current environment's jobs the user may see, live (a reload or a second tab sees the same). */
export function useJobs(): JobItem[] | null {
  return useLiveCollection<JobItem>(topic.jobs(useEnv().id)).list;
}
