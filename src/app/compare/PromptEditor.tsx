// One side's prompt: pick a held-out item from the embedded task sets (in the prompt form the
// embedded models were trained on) or edit the text; shows where the prompt came from.
import type { TaskName } from '../../tasks/index.ts';
import { PICK_N, SIDE_LABEL, describeProvenance, embeddedPrompt, pickable, withText, type ComparePrompt, type Side } from './prompts.ts';

const TASK_LABEL: Record<TaskName, string> = { conlang: 'Velmic puzzles (constructed language, synthetic)', arithmetic: 'Arithmetic word problems' };

export function PromptEditor({ side, prompt, tokens, disabled, onChange }: { side: Side; prompt: ComparePrompt; tokens?: number; disabled: boolean; onChange(p: ComparePrompt): void }) {
  const p = prompt.provenance;
  const picked = p.kind === 'embedded' ? `${p.task}:${p.index}` : '';
  const id = `compare-prompt-${side}`;
  return (
    <div className="prompt-editor" data-side={side}>
      <div className="prompt-head">
        <label htmlFor={id} className="side-name">
          {SIDE_LABEL[side]}
        </label>
        <select
          aria-label={`${SIDE_LABEL[side]} prompt: pick an embedded item`}
          value={picked}
          disabled={disabled}
          onChange={(e) => {
            const [task, index] = e.target.value.split(':');
            if (task) onChange(embeddedPrompt(task as TaskName, Number(index)));
          }}
          data-testid={`compare-pick-${side}`}
        >
          <option value="">{picked ? '' : 'edited by user'}</option>
          {(['conlang', 'arithmetic'] as TaskName[]).map((task) => (
            <optgroup key={task} label={TASK_LABEL[task]}>
              {pickable(task).map((it, i) => (
                <option key={it.id} value={`${task}:${i}`}>
                  {`${task === 'conlang' ? 'Velmic' : 'Arithmetic'} ${i + 1}/${PICK_N}: ${it.question.split('\n').at(-1)!.slice(0, 48)}`}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
      </div>
      <textarea id={id} rows={6} value={prompt.text} spellCheck={false} onChange={(e) => onChange(withText(prompt, e.target.value))} data-testid={id} />
      <p className="muted small provenance" data-testid={`compare-provenance-${side}`} data-kind={p.kind}>
        {describeProvenance(p)}
        {tokens !== undefined ? ` · ${tokens} tokens` : ''}
      </p>
    </div>
  );
}
