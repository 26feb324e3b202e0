// What a run trains, shared by the SFT, GRPO and DPO forms: a LoRA adapter (rank, alpha, dropout, target
// modules) or every weight (DPO: LoRA only, the choice left out). Test ids are `${prefix}-…` (the SFT form's prefix is `cfg`).
import type { LoraTarget, SftConfig } from '../../engine/api.ts';
import { NumField } from './NumField.tsx';

export const TARGETS: LoraTarget[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

type Errors = Partial<Record<'r' | 'alpha' | 'dropout' | 'targets', string>>;

export function LoraFields(props: {
  config: Pick<SftConfig, 'full' | 'lora'>;
  onChange: (patch: Partial<Pick<SftConfig, 'full' | 'lora'>>) => void;
  errors: Errors;
  disabled: boolean;
  prefix: string;
  /** GRPO runs without LoRA dropout: the field is left out and this note says why */
  noDropout?: string;
  /** DPO trains LoRA only: the LoRA / full choice is left out and this note says why */
  noFull?: string;
}) {
  const { config: c, onChange, errors, disabled, prefix } = props;
  const lora = (patch: Partial<SftConfig['lora']>) => onChange({ lora: { ...c.lora, ...patch } });
  const f = (label: string, key: keyof Errors, value: number, set: (v: number) => void, hint?: string) => (
    <NumField label={label} value={value} onChange={set} error={errors[key]} hint={hint} testid={`${prefix}-${key}`} disabled={disabled} />
  );
  return (
    <>
      {props.noFull !== undefined ? (
        <p className="field-hint wide" data-testid={`${prefix}-lora-only`}>
          {props.noFull}
        </p>
      ) : (
        <fieldset className="radios" aria-label="What is trained">
          <legend>Train</legend>
          <label className="check">
            <input type="radio" name={`${prefix}-train-mode`} checked={!c.full} onChange={() => onChange({ full: false })} data-testid={`${prefix}-lora`} /> a LoRA adapter
          </label>
          <label className="check">
            <input type="radio" name={`${prefix}-train-mode`} checked={c.full} onChange={() => onChange({ full: true })} data-testid={`${prefix}-full`} /> every weight (full)
          </label>
        </fieldset>
      )}

      {!c.full ? (
        <div className="controls" data-testid={`${prefix}-lora-fields`}>
          {f('Rank r', 'r', c.lora.r, (r) => lora({ r }))}
          {f('Alpha α', 'alpha', c.lora.alpha, (alpha) => lora({ alpha }), Number.isFinite(c.lora.alpha / c.lora.r) ? `scale α/r = ${+(c.lora.alpha / c.lora.r).toFixed(3)}` : undefined)}
          {props.noDropout === undefined ? f('Dropout', 'dropout', c.lora.dropout, (dropout) => lora({ dropout })) : null}
          <fieldset className="targets" aria-describedby={`${prefix}-targets-msg`}>
            <legend>Target modules</legend>
            {TARGETS.map((t) => (
              <label key={t} className="check">
                <input
                  type="checkbox"
                  checked={c.lora.targets.includes(t)}
                  data-testid={`${prefix}-target-${t}`}
                  onChange={(e) => lora({ targets: e.target.checked ? TARGETS.filter((x) => x === t || c.lora.targets.includes(x)) : c.lora.targets.filter((x) => x !== t) })}
                />
                <code>{t}</code>
              </label>
            ))}
            {errors.targets ? (
              <span id={`${prefix}-targets-msg`} className="field-error" data-testid={`${prefix}-targets-error`}>
                {errors.targets}
              </span>
            ) : null}
          </fieldset>
          {props.noDropout ? <p className="field-hint wide">{props.noDropout}</p> : null}
        </div>
      ) : null}
    </>
  );
}
