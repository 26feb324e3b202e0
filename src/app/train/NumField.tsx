// A number input that keeps what the user typed ("1e-", "0.") while it is being edited and hands
// the parent the parsed number (NaN when it is not one yet), with its validation message inline.
import { useEffect, useId, useState } from 'react';

export function NumField(props: {
  label: string;
  value: number;
  onChange: (v: number) => void;
  error?: string;
  hint?: string;
  testid: string;
  disabled?: boolean;
  width?: 'num' | 'narrow';
}) {
  const { label, value, onChange, error, hint, testid, disabled } = props;
  const [text, setText] = useState(() => String(value));
  const id = useId();
  // a preset or a resumed run changed the value: show it (unless the text already means it)
  useEffect(() => {
    const parsed = parse(text);
    if (!(parsed === value || (Number.isNaN(parsed) && Number.isNaN(value)))) setText(String(value));
  }, [value]);
  return (
    <label className="field" htmlFor={id}>
      <span>{label}</span>
      <input
        id={id}
        className={props.width ?? 'num'}
        inputMode="decimal"
        value={text}
        disabled={disabled}
        aria-invalid={error ? true : undefined}
        aria-describedby={error || hint ? `${id}-msg` : undefined}
        data-testid={testid}
        onChange={(e) => {
          setText(e.target.value);
          onChange(parse(e.target.value));
        }}
      />
      {error ? (
        <span id={`${id}-msg`} className="field-error" data-testid={`${testid}-error`}>
          {error}
        </span>
      ) : hint ? (
        <span id={`${id}-msg`} className="field-hint">
          {hint}
        </span>
      ) : null}
    </label>
  );
}

function parse(text: string): number {
  const t = text.trim();
  return t === '' ? NaN : Number(t);
}
