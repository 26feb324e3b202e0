// One item at a time, large enough to read and tap on a tablet: the prompt, the output (or outputs A and
// B, the better one picked with a tap), Correct / Partly / Wrong, a correction and a comment, previous /
// next. Keyboard: 1 2 3 rate, A / B choose, J or → next, K or ← previous, N the next unjudged; none of
// them while typing in a text box (Esc leaves it). Every change goes to the store, which keeps it on this
// device at once (./validateStore.ts).
import { useEffect } from 'react';
import { useStore } from 'zustand';
import { canRate, nextUnjudged, progressOf, ratedOutput, RATINGS, type Choice, type Rating } from './session.ts';
import type { ValidateStore } from './validateStore.ts';

const RATING_TEXT: Record<Rating, string> = { correct: 'Correct', partly: 'Partly correct', wrong: 'Wrong' };
const RATING_MARK: Record<Rating, string> = { correct: '✓', partly: '≈', wrong: '✗' };

/** Is the key meant for a form control rather than for the page? (A radio keeps its arrow keys.) */
const typing = (t: EventTarget | null): boolean =>
  t instanceof HTMLElement && (t.isContentEditable || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || (t.tagName === 'INPUT' && !['checkbox', 'button'].includes((t as HTMLInputElement).type)));

export function ItemCard({ store }: { store: ValidateStore }) {
  const items = useStore(store, (s) => s.items);
  const judgements = useStore(store, (s) => s.judgements);
  const position = useStore(store, (s) => s.position);
  const item = items[position];
  const j = item ? judgements[item.id] : undefined;
  const progress = progressOf(items, judgements);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && typing(e.target)) return void (e.target as HTMLElement).blur();
      if (typing(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
      const s = store.getState();
      const it = s.items[s.position];
      if (!it) return;
      const cur = s.judgements[it.id];
      const rate = (r: Rating) => s.edit(it.id, { rating: cur?.rating === r ? null : r });
      const choose = (c: Choice) => s.edit(it.id, { choice: cur?.choice === c ? null : c });
      const actions: Record<string, () => void> = {
        '1': () => rate('correct'), '2': () => rate('partly'), '3': () => rate('wrong'),
        a: () => choose('A'), b: () => choose('B'),
        j: () => s.go(s.position + 1), ArrowRight: () => s.go(s.position + 1),
        k: () => s.go(s.position - 1), ArrowLeft: () => s.go(s.position - 1),
        n: () => {
          const next = nextUnjudged(s.items, s.judgements, s.position);
          if (next >= 0) s.go(next);
        },
      };
      const act = actions[e.key.length === 1 ? e.key.toLowerCase() : e.key];
      if (!act) return;
      e.preventDefault();
      act();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [store]);

  if (!item) return null;
  const s = store.getState();
  const two = item.outputs.length === 2;
  const rateable = canRate(item, j);
  const rated = ratedOutput(item, j);
  const unjudged = nextUnjudged(items, judgements, position);

  return (
    <section className="panel v-item" data-testid="validate-item" data-item-id={item.id} aria-labelledby="v-item-h">
      <div className="v-progress">
        <h2 id="v-item-h" data-testid="validate-position">
          Item {position + 1} of {items.length}
        </h2>
        <span data-testid="validate-progress" data-judged={progress.judged}>
          {progress.judged} judged · {items.length - progress.judged} to go
        </span>
        <progress max={items.length} value={progress.judged} aria-label="Items judged" />
      </div>

      <div className="v-label">Prompt</div>
      <div className="v-text v-prompt" data-testid="validate-prompt">
        {item.prompt}
      </div>

      <div className="v-label">{two ? 'Two outputs of the model — which is better?' : 'The model’s output'}</div>
      <div className={two ? 'v-outputs two' : 'v-outputs'}>
        {item.outputs.map((text, i) => {
          const c: Choice = i === 0 ? 'A' : 'B';
          const picked = j?.choice === c;
          return (
            <div key={c} className={`v-output${picked ? ' picked' : ''}`} data-testid={`validate-output-${c}`}>
              {two ? <div className="v-output-name">Output {c}</div> : null}
              <div className="v-text">{text}</div>
              {two ? (
                <button type="button" className="v-big v-choose" aria-pressed={picked} onClick={() => s.edit(item.id, { choice: picked ? null : c })} data-testid={`validate-choose-${c}`}>
                  {picked ? `✓ ${c} is better` : `${c} is better`} <kbd>{c}</kbd>
                </button>
              ) : null}
            </div>
          );
        })}
      </div>

      <div className="v-label" id="v-rate-h">
        {two ? (rated !== null ? `How good is the better one (${j?.choice})?` : 'Choose the better output first; the rating is of the one you choose.') : 'Is it right?'}
      </div>
      <div className="v-rate" role="group" aria-labelledby="v-rate-h">
        {RATINGS.map((r, n) => (
          <button
            key={r}
            type="button"
            className={`v-big v-rate-${r}`}
            aria-pressed={j?.rating === r}
            disabled={!rateable}
            onClick={() => s.edit(item.id, { rating: j?.rating === r ? null : r })}
            data-testid={`validate-rate-${r}`}
          >
            <span aria-hidden="true">{RATING_MARK[r]}</span> {RATING_TEXT[r]} <kbd>{n + 1}</kbd>
          </button>
        ))}
      </div>

      <label className="v-field">
        <span className="v-label">
          Correction <span className="muted">— the right answer, in your words, if the output is not right</span>
        </span>
        <textarea rows={3} value={j?.correction ?? ''} onChange={(e) => s.edit(item.id, { correction: e.target.value })} data-testid="validate-correction" />
      </label>
      {rated !== null && !j?.correction ? (
        <button type="button" className="secondary v-start" onClick={() => s.edit(item.id, { correction: rated })} data-testid="validate-start-correction">
          Start the correction from {two ? `output ${j?.choice}` : 'the output'}
        </button>
      ) : null}
      <label className="v-field">
        <span className="v-label">
          Comment <span className="muted">— anything a reader should know (dialect, context, why)</span>
        </span>
        <textarea rows={2} value={j?.comment ?? ''} onChange={(e) => s.edit(item.id, { comment: e.target.value })} data-testid="validate-comment" />
      </label>

      <div className="v-nav">
        <button type="button" className="v-big secondary" disabled={position === 0} onClick={() => s.go(position - 1)} data-testid="validate-prev">
          ← Previous <kbd>K</kbd>
        </button>
        <button type="button" className="v-big secondary" disabled={unjudged < 0} onClick={() => s.go(unjudged)} data-testid="validate-next-unjudged">
          Next not judged <kbd>N</kbd>
        </button>
        <button type="button" className="v-big" disabled={position >= items.length - 1} onClick={() => s.go(position + 1)} data-testid="validate-next">
          Next → <kbd>J</kbd>
        </button>
      </div>
      <p className="muted small v-keys">
        Keys: <kbd>1</kbd> correct · <kbd>2</kbd> partly · <kbd>3</kbd> wrong{two ? ' · ' : ''}
        {two ? (
          <>
            <kbd>A</kbd> / <kbd>B</kbd> the better one
          </>
        ) : null}{' '}
        · <kbd>J</kbd> or <kbd>→</kbd> next · <kbd>K</kbd> or <kbd>←</kbd> previous · <kbd>N</kbd> next not judged · <kbd>Esc</kbd> leaves a text box. Pressing a
        chosen answer again takes it back.
      </p>
    </section>
  );
}
