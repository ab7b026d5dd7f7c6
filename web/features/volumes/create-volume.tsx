import { useState } from "preact/hooks";
import { useEnv } from "../../app/contexts.ts";
import { envHref, navigate } from "../../app/route.ts";
import { useChange } from "../../lib/fetched.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { TextField } from "../../ui/text-field.tsx";
import { createVolume } from "./api.ts";

/** `key=value` lines into a map; blank lines are skipped. */
function pairs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)) {
    const i = line.indexOf("=");
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    else out[line] = "";
  }
  return out;
}

/** The create form, in a dialog: name, driver, options and labels (the panel decides what a non-admin may set). */
export function CreateVolume() {
  const env = useEnv().id;
  const { busy, run } = useChange();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [driver, setDriver] = useState("local");
  const [options, setOptions] = useState("");
  const [labels, setLabels] = useState("");
  const submit = async () => {
    const body = {
      Name: name.trim(),
      ...(driver.trim() && driver.trim() !== "local" ? { Driver: driver.trim() } : {}),
      ...(options.trim() ? { DriverOpts: pairs(options) } : {}),
      ...(labels.trim() ? { Labels: pairs(labels) } : {}),
    };
    const done = await run(() => createVolume(env, body));
    if (done) {
      setOpen(false);
      navigate(envHref({ page: "volume", env, name: body.Name }));
    }
  };
  return (
    <>
      <button type="button" class="primary" data-testid="create-volume" onClick={() => setOpen(true)}>
        Create volume
      </button>
      {open && (
        <ConfirmDialog
          title="Create a volume"
          confirmLabel={busy ? "Creating…" : "Create"}
          onConfirm={() => void submit()}
          onCancel={() => setOpen(false)}
        >
          <TextField
            label="Name"
            name="volume-name"
            required
            pattern="[a-zA-Z0-9][a-zA-Z0-9_.\-]+"
            title="letters, digits, _ . - (at least two characters)"
            value={name}
            onValue={setName}
          />
          <TextField label="Driver" name="volume-driver" value={driver} onValue={setDriver} />
          <label class="field">
            Driver options (one key=value a line)
            <textarea
              name="volume-options"
              rows={3}
              placeholder="type=tmpfs&#10;device=tmpfs&#10;o=size=100m"
              value={options}
              onInput={(e) => setOptions(e.currentTarget.value)}
            />
          </label>
          <label class="field">
            Labels (one key=value a line)
            <textarea
              name="volume-labels"
              rows={3}
              value={labels}
              onInput={(e) => setLabels(e.currentTarget.value)}
            />
          </label>
        </ConfirmDialog>
      )}
    </>
  );
}
