import type { InputHTMLAttributes } from "preact";

interface Props {
  label: string;
  name: string;
  value: string;
  onValue: (value: string) => void;
  type?: "text" | "password" | "number";
  autocomplete?: string;
  autocapitalize?: "none";
  spellcheck?: boolean;
  required?: boolean;
  minLength?: number;
  maxLength?: number;
  min?: number;
  max?: number;
  pattern?: string;
  placeholder?: string;
  title?: string;
}

/** A labelled input bound to a string state. */
export function TextField({ label, value, onValue, ...input }: Props) {
  return (
    <label class="field">
      {label}
      {/* Preact types inputs as a union keyed on `type`, which a spread of several types cannot narrow. */}
      <input
        {...(input as InputHTMLAttributes<HTMLInputElement>)}
        value={value}
        onInput={(e) => onValue(e.currentTarget.value)}
      />
    </label>
  );
}
