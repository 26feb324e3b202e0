// Exports of a comparison: the figure as SVG (built from the same numbers the page draws, with the
// same d3 scales) and as PNG (that SVG rasterised at 2×), and the numbers as JSON (model, adapter,
// prompts and where they came from, token ids, every layer's hook_pattern and head statistics; and,
// when the page has them for the loaded model, the base/adapter patterns of the adapter on/off view
// with the adapter's name, and each side's generation: prompt ids, new ids, the patterns over both).
//
// SVG heatmaps are vector <rect>s while the figure has at most VECTOR_CELLS cells in all; above
// that each map is an embedded PNG at one pixel per cell (pixelated), so a long prompt on a big
// model still gives a file of a few MB. Labels, legends and statistics are always vector.
import type { AdapterCompareRun, CompareRun, GenSideRun } from '../compareSlice.ts';
import type { InspectResult } from '../../engine/engine.ts';
import { attentionScale, colorTable, gradientStops, legendTicks, tickCount, type ColorScale, type ScaleKind } from './colors.ts';
import { SIDE_LABEL, SIDES, describeProvenance, type Side } from './prompts.ts';
import { paintMatrix } from './SmallMap.tsx';
import { statRows } from './stats.ts';
import { viewPattern, type Cell } from './transform.ts';

export const VECTOR_CELLS = 120_000;

/** The adapter on/off run and the generations shown with the comparison (each only when present). */
export interface ExportExtra {
  adapterRun?: AdapterCompareRun;
  gen?: Record<Side, GenSideRun | undefined>;
}

// blocks.{l}.attn.hook_pattern [head][query][key] of every layer, the engine's values
const layersJson = (r: InspectResult) => r.layers.map((L) => ({ layer: L.layer, hook: `blocks.${L.layer}.attn.hook_pattern`, pattern: L.pattern, stats: L.stats }));

export interface ViewSettings {
  hideSink: boolean;
  scale: ScaleKind;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"';

/** One drawn matrix as SVG at (x, y), `size` px square. */
function matrixSvg(v: Cell[][], x: number, y: number, size: number, scale: ColorScale, hideSink: boolean, vector: boolean, table: Uint8ClampedArray): string {
  const T = v.length;
  if (!vector) {
    const c = document.createElement('canvas');
    (c.width = T), (c.height = T);
    const ctx = c.getContext('2d')!;
    const img = ctx.createImageData(T, T);
    paintMatrix(img, v, table, hideSink);
    ctx.putImageData(img, 0, 0);
    return `<image x="${x}" y="${y}" width="${size}" height="${size}" preserveAspectRatio="none" style="image-rendering:pixelated" href="${c.toDataURL('image/png')}"/>`;
  }
  const parts = [`<g transform="translate(${x},${y}) scale(${size / T})" shape-rendering="crispEdges">`, `<rect width="${T}" height="${T}" fill="#eef0f3"/>`];
  for (let q = 0; q < T; q++) {
    for (let k = 0; k <= q; k++) {
      const p = v[q][k];
      parts.push(`<rect x="${k}" y="${q}" width="1" height="1" fill="${p === null ? '#c4c8cf' : scale(p)}"/>`);
    }
  }
  parts.push('</g>');
  return parts.join('');
}

function legendSvg(scale: ColorScale, x: number, y: number, w: number, label: string, id: string): string {
  const stops = gradientStops(scale).map((s) => `<stop offset="${s.offset}" stop-color="${s.color}"/>`).join('');
  const ticks = legendTicks(scale, tickCount(w))
    .map((t) => `<g transform="translate(${x + t.pos * w},${y + 22})"><line y2="4" stroke="#667085"/><text y="15" text-anchor="middle" font-size="10" fill="#444">${esc(t.label)}</text></g>`)
    .join('');
  return `<defs><linearGradient id="${id}">${stops}</linearGradient></defs><text x="${x}" y="${y + 8}" font-size="11" fill="#333">${esc(label)}</text><rect x="${x}" y="${y + 12}" width="${w}" height="10" fill="url(#${id})" stroke="#c9ced6" stroke-width="0.5"/>${ticks}`;
}

/** The figure: both sides' layer × head grids, the attention legend, the statistics maps. */
export function figureSvg(run: CompareRun, view: ViewSettings): string {
  const scale = attentionScale(view.scale);
  const table = colorTable(scale);
  const L = run.left.result.layers.length, H = run.left.result.n_heads;
  const cells = SIDES.reduce((a, s) => a + L * H * run[s].result.tokens.length ** 2, 0);
  const vector = cells <= VECTOR_CELLS;
  const map = Math.max(36, Math.min(110, Math.floor(480 / H)));
  const gap = 4, lab = 26;
  const sideW = lab + H * (map + gap);
  const W = Math.max(2 * sideW + 60, 760);
  const out: string[] = [];
  let y = 28;
  out.push(`<text x="20" y="${y}" font-size="18" font-weight="600" fill="#1d2330">Attention: ${esc(SIDE_LABEL.left.toLowerCase())} vs ${esc(SIDE_LABEL.right.toLowerCase())}</text>`);
  y += 20;
  out.push(`<text x="20" y="${y}" font-size="12" fill="#444">model ${esc(run.model)} · adapter ${esc(run.adapter)} · ${esc(run.at)} · blocks.{l}.attn.hook_pattern · ${view.hideSink ? 'first-token sink hidden, rows renormalised' : 'all keys'}</text>`);
  y += 26;
  const top = y;
  SIDES.forEach((side, i) => {
    const x0 = 20 + i * (sideW + 40);
    const r = run[side];
    let yy = top;
    out.push(`<text x="${x0}" y="${yy}" font-size="14" font-weight="600" fill="#1d2330">${esc(SIDE_LABEL[side])} · ${r.result.tokens.length} tokens</text>`);
    yy += 15;
    out.push(`<text x="${x0}" y="${yy}" font-size="10" fill="#555">${esc(describeProvenance(r.prompt.provenance))}</text>`);
    yy += 16;
    for (let h = 0; h < H; h++) out.push(`<text x="${x0 + lab + h * (map + gap) + map / 2}" y="${yy}" font-size="10" text-anchor="middle" fill="#555">H${h}</text>`);
    yy += 5;
    for (let l = 0; l < L; l++) {
      const ry = yy + l * (map + gap);
      out.push(`<text x="${x0 + lab - 5}" y="${ry + map / 2 + 3}" font-size="10" text-anchor="end" fill="#555">L${l}</text>`);
      for (let h = 0; h < H; h++) out.push(matrixSvg(viewPattern(r.result.layers[l].pattern[h], view.hideSink), x0 + lab + h * (map + gap), ry, map, scale, view.hideSink, vector, table));
    }
  });
  y = top + 36 + L * (map + gap) + 10;
  out.push(legendSvg(scale, 20 + lab, y, 240, `attention probability (viridis, ${view.scale})`, 'lg-attn'));
  y += 60;
  // statistics: one row per statistic, language | math | language − math
  const rows = statRows(run.left.result, run.right.result);
  const c = Math.max(10, Math.min(20, Math.floor(150 / H)));
  const gw = 22 + H * c, colW = Math.max(gw, 160) + 30;
  out.push(`<text x="20" y="${y}" font-size="14" font-weight="600" fill="#1d2330">Per-head statistics (rows: layers, columns: heads)</text>`);
  y += 20;
  const heads = ['', SIDE_LABEL.left, SIDE_LABEL.right, `${SIDE_LABEL.left} − ${SIDE_LABEL.right}`];
  heads.forEach((t, i) => out.push(`<text x="${20 + (i === 0 ? 0 : 150 + (i - 1) * colW)}" y="${y}" font-size="11" font-weight="600" fill="#333">${esc(t)}</text>`));
  y += 8;
  rows.forEach((r, ri) => {
    out.push(`<text x="20" y="${y + 14}" font-size="12" fill="#1d2330">${esc(r.label)}</text>`);
    out.push(legendSvg(r.scale, 20, y + 22, 120, '', `lg-s${ri}`));
    const grids: [number[][], ColorScale][] = [[r.left, r.scale], [r.right, r.scale], [r.diff, r.diffScale]];
    grids.forEach(([m, s], gi) => {
      const gx = 20 + 150 + gi * colW;
      m.forEach((row, l) => row.forEach((v, h) => out.push(`<rect x="${gx + 22 + h * c}" y="${y + l * c}" width="${c - 1}" height="${c - 1}" fill="${s(v)}"/>`)));
      for (let l = 0; l < L; l += L > 16 ? 2 : 1) out.push(`<text x="${gx + 18}" y="${y + (l + 0.5) * c + 3}" font-size="9" text-anchor="end" fill="#555">${l}</text>`);
    });
    out.push(legendSvg(r.diffScale, 20 + 150 + 2 * colW + gw + 10, y, 120, '', `lg-d${ri}`));
    y += Math.max(L * c, 60) + 14;
  });
  const Wfull = Math.max(W, 20 + 150 + 3 * colW + 140);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${Wfull}" height="${y + 10}" viewBox="0 0 ${Wfull} ${y + 10}" ${FONT}><rect width="100%" height="100%" fill="#fff"/>${out.join('')}</svg>`;
}

/** The SVG rasterised at `scale`× as a PNG blob. */
export async function figurePng(svg: string, scale = 2): Promise<Blob> {
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const c = document.createElement('canvas');
    (c.width = Math.ceil(img.width * scale)), (c.height = Math.ceil(img.height * scale));
    const ctx = c.getContext('2d')!;
    ctx.drawImage(img, 0, 0, c.width, c.height);
    return await new Promise<Blob>((ok, fail) => c.toBlob((b) => (b ? ok(b) : fail(new Error('The PNG could not be made.'))), 'image/png'));
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** The numbers of a comparison: everything needed to redraw it or check it elsewhere. */
export function compareJson(run: CompareRun, view: ViewSettings, device: string | undefined, extra: ExportExtra = {}, terms: unknown = null): string {
  const side = (s: Side) => {
    const { prompt, result } = run[s];
    return {
      label: SIDE_LABEL[s].toLowerCase(),
      prompt: prompt.text,
      provenance: prompt.provenance,
      provenanceText: describeProvenance(prompt.provenance),
      tokens: result.tokens.map((t) => ({ id: t.id, text: t.text, raw: t.raw })),
      token_ids: result.tokens.map((t) => t.id),
      n_heads: result.n_heads,
      // blocks.{l}.attn.hook_pattern [head][query][key], the engine's values (the view settings do not change them)
      layers: layersJson(result),
      inspectMs: result.ms,
    };
  };
  const a = extra.adapterRun;
  const adapterCompare = a
    ? {
        adapter: a.adapter.name,
        runId: a.runId,
        lora: { r: a.adapter.r, alpha: a.adapter.alpha, targets: a.adapter.targets },
        activeBeforeAndAfter: a.restored ?? 'base',
        created: a.at,
        note: 'base: Engine.setAdapter(null); adapter: setAdapter({runId}); difference = adapter − base',
        sides: Object.fromEntries(
          SIDES.map((s) => [s, { label: SIDE_LABEL[s].toLowerCase(), prompt: a[s].prompt.text, token_ids: a[s].base.tokens.map((t) => t.id), base: layersJson(a[s].base), adapter: layersJson(a[s].adapter) }]),
        ),
      }
    : null;
  const generation = Object.fromEntries(
    SIDES.flatMap((s) => {
      const g = extra.gen?.[s];
      if (!g) return [];
      return [[s, { label: SIDE_LABEL[s].toLowerCase(), prompt: g.prompt.text, adapter: g.adapter, sampling: 'greedy', prompt_ids: g.promptIds, new_ids: g.newIds, text: g.text, stop: g.stop, tokens: g.result.tokens.map((t) => ({ id: t.id, text: t.text, raw: t.raw })), layers: layersJson(g.result), created: g.at }]];
    }),
  );
  return JSON.stringify(
    {
      format: 'stoney-lab/compare@1',
      created: run.at,
      model: run.model,
      adapter: run.adapter,
      device: device ?? null,
      view: { hideSink: view.hideSink, colorScale: `viridis-${view.scale}`, note: 'patterns are the raw engine values; the view settings only change the figure' },
      sides: { left: side('left'), right: side('right') },
      ...(adapterCompare ? { adapterCompare } : {}),
      ...(Object.keys(generation).length ? { generation } : {}),
      // the terms inherited from the data of the adapters' runs (derived artifacts keep them)
      ...(terms ? { governance: terms } : {}),
    },
    null,
    1,
  );
}

/** Saves a blob under `name` through a temporary link (nothing leaves the browser). */
export function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
