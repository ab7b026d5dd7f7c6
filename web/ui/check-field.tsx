/** A labelled checkbox bound to a boolean state. */
export function CheckField({
  label,
  name,
  checked,
  onChecked,
}: {
  label: string;
  name: string;
  checked: boolean;
  onChecked: (checked: boolean) => void;
}) {
  return (
    <label class="check">
      <input
        type="checkbox"
        name={name}
        checked={checked}
        onChange={(e) => onChecked(e.currentTarget.checked)}
      />
      {label}
    </label>
  );
}
