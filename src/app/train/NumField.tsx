// A number input that keeps what the user typed ("1e-", "0.") while it is being edited and hands
// the parent the parsed number (NaN when it is not one yet), with its validation message inline.
// An `optional` field may be left empty: that hands the parent undefined (a setting left unset).
import { useEffect, useId, useState } from 'react';

type Value = { optional?: false; value: number; onChange: (v: number) => void } | { optional: true; value: number | undefined; onChange: (v: number | undefined) => void };

export function NumField(
  props: {
    label: string;
    error?: string;
    hint?: string;
    testid: string;
    disabled?: boolean;
    width?: 'num' | 'narrow';
    /** shown while empty (an optional field: what empty means) */
    placeholder?: string;
  } & Value,
) {
  const { label, value, error, hint, testid, disabled } = props;
  const show = (v: number | undefined) => (v === undefined ? '' : String(v));
  const [text, setText] = useState(() => show(value));
  const id = useId();
  const read = (t: string): number | undefined => (props.optional && t.trim() === '' ? undefined : parse(t));
  // a preset or a resumed run changed the value: show it (unless the text already means it)
  useEffect(() => {
    const parsed = read(text);
    if (!(parsed === value || (Number.isNaN(parsed) && Number.isNaN(value)))) setText(show(value));
  }, [value]);
  return (
    <label className="field" htmlFor={id}>
      <span>{label}</span>
      <input
        id={id}
        className={props.width ?? 'num'}
        inputMode="decimal"
        placeholder={props.placeholder}
        value={text}
        disabled={disabled}
        aria-invalid={error ? true : undefined}
        aria-describedby={error || hint ? `${id}-msg` : undefined}
        data-testid={testid}
        onChange={(e) => {
          setText(e.target.value);
          if (props.optional) props.onChange(read(e.target.value));
          else props.onChange(parse(e.target.value));
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
