import "./networks.css";
import { useState } from "preact/hooks";
import { useEnv, useUser } from "../../app/contexts.ts";
import { errorMessage } from "../../lib/api.ts";
import { ConfirmDialog } from "../../ui/confirm-dialog.tsx";
import { TextField } from "../../ui/text-field.tsx";
import { createBody, createNetwork, type NetworkForm } from "./networks.ts";

const EMPTY: NetworkForm = {
  name: "",
  driver: "bridge",
  subnet: "",
  gateway: "",
  ipRange: "",
  ipv6Subnet: "",
  internal: false,
  attachable: false,
  ipv6: false,
  parent: "",
  labels: "",
};

/**
 * The create form, in a dialog that stays open on a refusal and says why (a taken name, a subnet
 * that overlaps, a driver only admins may use). Drivers offered: what the server would take from
 * this user — macvlan and ipvlan for admins, overlay on an engine in a swarm.
 */
export function CreateNetwork({ onCreated }: { onCreated?: (id: string) => void }) {
  const { id: env, view } = useEnv();
  const admin = useUser().role === "admin";
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState<NetworkForm>(EMPTY);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set =
    <K extends keyof NetworkForm>(key: K) =>
    (value: NetworkForm[K]) =>
      setForm((f) => ({ ...f, [key]: value }));
  const drivers = [
    "bridge",
    ...(admin ? ["macvlan", "ipvlan"] : []),
    ...(view?.capabilities?.swarm ? ["overlay"] : []),
  ];
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const made = await createNetwork(env, createBody(form));
      setOpen(false);
      setForm(EMPTY);
      onCreated?.(made.id);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const check = (key: "internal" | "attachable" | "ipv6", label: string) => (
    <label class="check">
      <input
        type="checkbox"
        name={key}
        checked={form[key]}
        onChange={(e) => set(key)(e.currentTarget.checked)}
      />
      {label}
    </label>
  );
  return (
    <>
      <button type="button" class="primary" data-testid="create-network" onClick={() => setOpen(true)}>
        Create network
      </button>
      {open && (
        <ConfirmDialog
          title="Create a network"
          confirmLabel={busy ? "Creating…" : "Create"}
          onConfirm={() => void submit()}
          onCancel={() => {
            setOpen(false);
            setError(null);
          }}
        >
          <div class="form-grid">
            <TextField
              label="Name"
              name="name"
              required
              pattern="[a-zA-Z0-9][a-zA-Z0-9_.\-]*"
              value={form.name}
              onValue={set("name")}
            />
            <label class="field">
              Driver
              <select
                name="driver"
                value={form.driver}
                onChange={(e) => set("driver")(e.currentTarget.value)}
              >
                {drivers.map((d) => (
                  <option key={d} value={d}>
                    {d}
                  </option>
                ))}
              </select>
            </label>
            {(form.driver === "macvlan" || form.driver === "ipvlan") && (
              <TextField
                label="Parent interface (on the host)"
                name="parent"
                placeholder="eth0"
                value={form.parent}
                onValue={set("parent")}
              />
            )}
            <TextField
              label="Subnet"
              name="subnet"
              placeholder="172.28.0.0/16"
              value={form.subnet}
              onValue={set("subnet")}
            />
            <TextField
              label="Gateway"
              name="gateway"
              placeholder="172.28.0.1"
              value={form.gateway}
              onValue={set("gateway")}
            />
            <TextField
              label="IP range"
              name="ip_range"
              placeholder="172.28.5.0/24"
              value={form.ipRange}
              onValue={set("ipRange")}
            />
            {form.ipv6 && (
              <TextField
                label="IPv6 subnet"
                name="ipv6_subnet"
                placeholder="fd00:1::/64"
                value={form.ipv6Subnet}
                onValue={set("ipv6Subnet")}
              />
            )}
          </div>
          {check("internal", "Internal (no traffic leaves the network)")}
          {check("attachable", "Attachable")}
          {check("ipv6", "IPv6")}
          <label class="field">
            Labels (one key=value a line)
            <textarea
              name="labels"
              rows={2}
              value={form.labels}
              onInput={(e) => set("labels")(e.currentTarget.value)}
            />
          </label>
          {error && (
            <p class="alert" role="alert" data-testid="create-error">
              {error}
            </p>
          )}
        </ConfirmDialog>
      )}
    </>
  );
}
