import { useState } from "preact/hooks";
import { api } from "../../lib/api.ts";
import { dateTime, useChange } from "../../lib/fetched.ts";
import { OnceValue } from "../../ui/once-value.tsx";
import { TextField } from "../../ui/text-field.tsx";
import { NameField } from "./env-forms.tsx";

interface JoinToken {
  token: string;
  name: string;
  expires_at: number;
  command: string;
}

/**
 * An edge agent joins with a one-time token made here (`POST /api/v1/agents/join-tokens`): the
 * command to run on the edge box is shown once, to copy. The agent then appears as an environment
 * of kind agent; removing that environment revokes it.
 */
export function JoinAgent() {
  const [name, setName] = useState("");
  const [minutes, setMinutes] = useState("60");
  const [made, setMade] = useState<JoinToken | null>(null);
  const { busy, run } = useChange();
  return (
    <form
      class="box env-add"
      data-testid="agent-join"
      onSubmit={async (e) => {
        e.preventDefault();
        const body = { name: name.trim(), expires_in_minutes: Number(minutes) };
        await run(async () => {
          setMade(await api<JoinToken>("POST", "/agents/join-tokens", body));
          setName("");
        });
      }}
    >
      <h2>Add an edge agent</h2>
      <p class="muted">
        The agent runs beside the engine on the edge box and dials out to this panel (QUIC, or a WebSocket
        over HTTPS when UDP is blocked): the panel never reaches into that network.
      </p>
      <div class="form-row">
        <NameField value={name} onValue={setName} />
        <TextField
          label="Token valid for (minutes)"
          name="agent_ttl"
          type="number"
          min={1}
          max={7 * 24 * 60}
          required
          value={minutes}
          onValue={setMinutes}
        />
      </div>
      <button type="submit" class="primary" disabled={busy}>
        Make a join token
      </button>
      {made && (
        <OnceValue
          label="Join command"
          value={made.command}
          testId="agent-command"
          onDone={() => setMade(null)}
        >
          Run this on the edge box to join it as {made.name} (once, until {dateTime(made.expires_at)}): you
          will not see it again.
        </OnceValue>
      )}
    </form>
  );
}
