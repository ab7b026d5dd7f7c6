/** What every page behind the login shares, given by the shell rather than passed down as props. */
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { EnvironmentView } from "../../src/protocol/views.ts";
import type { Stream } from "../lib/stream.ts";
import type { User } from "../lib/types.ts";

export interface CurrentEnv {
  /** The environment in the address (`#/envs/<id>/…`), or the last one shown on panel-wide pages. */
  id: string;
  /** Its entry in the `envs` topic; undefined until that arrives, or for an id that names none. */
  view: EnvironmentView | undefined;
  /** Every environment the user may see; null until the `envs` topic answers. */
  all: EnvironmentView[] | null;
}

export const StreamContext = createContext<Stream | null>(null);
export const EnvContext = createContext<CurrentEnv | null>(null);
export const UserContext = createContext<User | null>(null);

function given<T>(value: T | null, name: string): T {
  if (value === null) throw new Error(`${name} is given by the shell: render this inside it`);
  return value;
}

/** The live stream, open for as long as the user is logged in. */
export const useStream = (): Stream => given(useContext(StreamContext), "the stream");
export const useEnv = (): CurrentEnv => given(useContext(EnvContext), "the environment");
export const useUser = (): User => given(useContext(UserContext), "the user");
