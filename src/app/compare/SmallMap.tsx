// One small attention map of the Compare grid: the drawn matrix [query][key] at one canvas pixel
// per cell, scaled up by CSS (image-rendering: pixelated), so a grid of many heads draws fast.
// The canvas carries data-side/data-layer/data-head, and the exact numbers it drew as the JS
// property `labValues` (Cell[][], null = not drawn) for tests and scripts.
import { useEffect, useRef } from 'react';
import type { Cell } from './transform.ts';
import { HIDDEN_RGB, MASKED_RGB } from './colors.ts';

export type LabCanvas = HTMLCanvasElement & { labValues?: Cell[][] };

/** Fills `img` (T×T RGBA) from the matrix: colours from `table` over 0..1, greys for null cells. */
export function paintMatrix(img: ImageData, values: Cell[][], table: Uint8ClampedArray, hideSink: boolean): void {
  const T = values.length;
  const n = table.length / 3;
  const d = img.data;
  for (let q = 0; q < T; q++) {
    for (let k = 0; k < T; k++) {
      const v = values[q][k];
      const o = (q * T + k) * 4;
      let r: number, g: number, b: number;
      if (v === null) [r, g, b] = k > q || !hideSink ? MASKED_RGB : HIDDEN_RGB;
      else {
        const i = Math.round(Math.min(1, Math.max(0, v)) * (n - 1)) * 3;
        (r = table[i]), (g = table[i + 1]), (b = table[i + 2]);
      }
      (d[o] = r), (d[o + 1] = g), (d[o + 2] = b), (d[o + 3] = 255);
    }
  }
}

export function SmallMap({ values, table, hideSink, side, layer, head }: { values: Cell[][]; table: Uint8ClampedArray; hideSink: boolean; side: string; layer: number; head: number }) {
  const ref = useRef<LabCanvas>(null);
  useEffect(() => {
    const c = ref.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    const T = values.length;
    c.width = T;
    c.height = T;
    const img = ctx.createImageData(T, T);
    paintMatrix(img, values, table, hideSink);
    ctx.putImageData(img, 0, 0);
    c.labValues = values;
  }, [values, table, hideSink]);
  return <canvas ref={ref} className="small-map" data-testid="compare-map" data-side={side} data-layer={layer} data-head={head} aria-hidden="true" />;
}
