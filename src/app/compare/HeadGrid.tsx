// One side of the comparison: a layer × head grid of small attention maps (rows = layers, columns
// = heads). Each map is a button: click (or Enter) opens that head large, for both sides. The grid
// is one tab stop; the arrow keys move between heads (roving tabindex). Before a run the grid shows
// empty cells of the same size, so nothing jumps when the maps arrive.
import { useRef, type CSSProperties, type KeyboardEvent } from 'react';
import type { Cell } from './transform.ts';
import { SmallMap } from './SmallMap.tsx';
import type { Side } from './prompts.ts';

export interface HeadRef {
  layer: number;
  head: number;
}

export interface HeadGridProps {
  side: Side;
  title: string;
  L: number;
  H: number;
  status: string;
  /** [layer][head] → drawn matrix; undefined before a run */
  views?: Cell[][][][];
  table: Uint8ClampedArray;
  hideSink: boolean;
  selected: HeadRef;
  onSelect(h: HeadRef): void;
}

export function HeadGrid({ side, title, L, H, status, views, table, hideSink, selected, onSelect }: HeadGridProps) {
  const grid = useRef<HTMLDivElement>(null);
  const focusCell = (l: number, h: number) => grid.current?.querySelector<HTMLButtonElement>(`button[data-layer="${l}"][data-head="${h}"]`)?.focus();
  const onKey = (e: KeyboardEvent, l: number, h: number) => {
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    const nl = Math.min(L - 1, Math.max(0, l + m[0])), nh = Math.min(H - 1, Math.max(0, h + m[1]));
    onSelect({ layer: nl, head: nh });
    focusCell(nl, nh);
  };
  const style = { '--heads': H } as CSSProperties;
  return (
    <figure className="head-grid" data-testid={`compare-${side}`} data-status={status} data-layers={L} data-heads={H}>
      <figcaption className="grid-title">{title}</figcaption>
      <div className="grid-cells" ref={grid} style={style} role="group" aria-label={`${title}: attention maps, rows are layers, columns are heads`}>
        <span />
        {Array.from({ length: H }, (_, h) => (
          <span key={`h${h}`} className="axis-label">
            H{h}
          </span>
        ))}
        {Array.from({ length: L }, (_, l) => [
          <span key={`l${l}`} className="axis-label row-label">
            L{l}
          </span>,
          ...Array.from({ length: H }, (_, h) => {
            const on = selected.layer === l && selected.head === h;
            const v = views?.[l]?.[h];
            return (
              <button
                type="button"
                key={`${l}-${h}`}
                className={`head-cell${on ? ' selected' : ''}`}
                data-layer={l}
                data-head={h}
                tabIndex={on ? 0 : -1}
                aria-pressed={on}
                aria-label={`Layer ${l}, head ${h}: open large`}
                disabled={!v}
                onClick={() => onSelect({ layer: l, head: h })}
                onKeyDown={(e) => onKey(e, l, h)}
              >
                {v ? <SmallMap values={v} table={table} hideSink={hideSink} side={side} layer={l} head={h} /> : <span className="small-map empty" />}
              </button>
            );
          }),
        ])}
      </div>
    </figure>
  );
}
