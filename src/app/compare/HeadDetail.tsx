// One head opened large, for both prompts side by side on the shared colour scale: token labels
// on both axes (drawn as text on the canvas, never as HTML), the value under the pointer (or the
// arrow keys) in a readout and a tooltip.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Heatmap } from '../Heatmap.tsx';
import { showToken } from '../lab.tsx';
import type { InspectResult } from '../../engine/engine.ts';
import type { Cell } from './transform.ts';
import type { ColorScale } from './colors.ts';
import { SIDE_LABEL, SIDES, type Side } from './prompts.ts';
import type { HeadRef } from './HeadGrid.tsx';

/** The width of an element, kept up to date (ResizeObserver). */
export function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [w, setW] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(([e]) => setW(Math.floor(e.contentRect.width)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, w];
}

export function HeadDetail({ at, results, views, scale, legend }: { at: HeadRef; results: Record<Side, InspectResult>; views: Record<Side, Cell[][][][]>; scale: ColorScale; legend: ReactNode }) {
  const [ref, width] = useWidth<HTMLDivElement>();
  // two maps side by side when there is room, else one above the other
  const each = width >= 900 ? Math.floor((width - 32) / 2) : Math.max(260, width);
  return (
    <section className="head-detail" data-testid="compare-detail" data-layer={at.layer} data-head={at.head} aria-labelledby="detail-h">
      <h3 id="detail-h">
        Layer {at.layer}, head {at.head}, large
      </h3>
      <p className="muted small">Rows: query tokens (attending). Columns: key tokens (attended to). Hover a cell, or focus a map and use the arrow keys.</p>
      <div className="detail-maps" ref={ref}>
        {width > 0
          ? SIDES.map((side) => {
              const r = results[side];
              return (
                <div key={side} className="detail-side">
                  <h4>{SIDE_LABEL[side]}</h4>
                  <Heatmap
                    pattern={views[side][at.layer][at.head]}
                    tokens={r.tokens.map((t) => t.text)}
                    title={`${SIDE_LABEL[side]}: layer ${at.layer}, head ${at.head}`}
                    maxWidth={each}
                    color={scale}
                    legend={legend}
                    attrs={{ 'data-side': side, 'data-layer': at.layer, 'data-head': at.head }}
                  />
                </div>
              );
            })
          : null}
      </div>
    </section>
  );
}

/** The prompt's tokens as chips (text only), with position and id on hover. */
export function TokenStrip({ result, side }: { result: InspectResult; side: Side }) {
  return (
    <ol className="tokens compact-tokens" data-testid={`compare-tokens-${side}`} aria-label={`${SIDE_LABEL[side]} prompt tokens`}>
      {result.tokens.map((t, i) => (
        <li key={i} className="token-chip" title={`#${i} · id ${t.id} · ${t.raw}`}>
          {showToken(t.text)}
        </li>
      ))}
    </ol>
  );
}
