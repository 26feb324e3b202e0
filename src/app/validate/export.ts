// The export of a validation session: only by the speaker's explicit action, as files the lab's own
// loaders read, each with its provenance.
//
//   <base>.sft.jsonl         corrections: the prompt and the speaker's correct answer, an SFT row
//                            (parseSftJsonl): {"messages": [user, assistant]} (TRL's conversational form,
//                            for a tokenizer with a chat template) or {"question", "answer"} (which the lab
//                            renders through the chat template when there is one, else as "Question: …\nAnswer:")
//   <base>.dpo.jsonl         A/B choices: {"prompt", "chosen", "rejected"} (loadDpoData, TRL's DPO form)
//   <base>.ratings.jsonl     ratings: {"prompt", "completion", "rating"} with correct 1, partly 0.5, wrong 0
//                            (loadRewardData's regression rows; the same numbers are the verdicts of
//                            src/rewards/validations.ts, so GRPO can use them as a reward by lookup)
//   <base>.judgements.jsonl  the speaker's whole record of every judged item, comments included: not
//                            training data, the record the others were made from
//   <base>.provenance.json   what each file is (rows, bytes, sha256), the sources of the items and the terms
//                            their manifests give them, which every file inherits (the strictest of them)
//
// A file with no row is not written. A choice between two outputs that are the same text is no preference
// (loadDpoData refuses it), and is left out.
import { strictestTerms } from '../../engine/train/governance.ts';
import { sha256Hex } from '../../engine/util/sha256.ts';
import { isJudged, ratedOutput, type ItemSource, type Judgement, type Rating, type ValidationItem } from './session.ts';

export const RATING_VALUE: Record<Rating, number> = { correct: 1, partly: 0.5, wrong: 0 };

export type SftForm = 'messages' | 'question-answer';
export type ExportKind = 'sft' | 'dpo' | 'ratings' | 'judgements';

export interface ExportFile {
  name: string;
  kind: ExportKind | 'provenance';
  text: string;
  rows: number;
}

export const GENERATOR = 'Stoney-RL Lab, community validation page (#/validate)';

const USES: Record<ExportKind, string> = {
  sft: 'SFT rows (the Train page with a JSONL file, or lab sft --data)',
  dpo: 'DPO preference pairs (the Train page in DPO mode, or lab dpo)',
  ratings: 'ratings for a reward model (lab reward-model --objective regression), and the verdicts of src/rewards/validations.ts (rating = verdict); not SFT data: a wrong output is in it',
  judgements: "the speaker's record of each judged item (rating, choice, correction, comment): not training data",
};

/** The exported rows of each kind, in session order. */
export function exportRows(items: readonly ValidationItem[], judgements: Readonly<Record<string, Judgement>>, sftForm: SftForm): Record<ExportKind, object[]> {
  const rows: Record<ExportKind, object[]> = { sft: [], dpo: [], ratings: [], judgements: [] };
  for (const it of items) {
    const j = judgements[it.id];
    if (!j) continue;
    const correction = j.correction.trim();
    if (correction) {
      rows.sft.push(
        sftForm === 'messages'
          ? { messages: [{ role: 'user', content: it.prompt }, { role: 'assistant', content: correction }] }
          : { question: it.prompt, answer: correction },
      );
    }
    if (j.choice && it.outputs.length === 2) {
      const [chosen, rejected] = j.choice === 'A' ? it.outputs : [it.outputs[1], it.outputs[0]];
      if (chosen.normalize('NFC') !== rejected.normalize('NFC')) rows.dpo.push({ prompt: it.prompt, chosen, rejected });
    }
    const rated = ratedOutput(it, j);
    if (j.rating && rated !== null) rows.ratings.push({ prompt: it.prompt, completion: rated, rating: RATING_VALUE[j.rating] });
    if (j.rating || j.choice || correction || j.comment.trim()) {
      rows.judgements.push({
        id: it.id, source: it.source, line: it.line, prompt: it.prompt, outputs: it.outputs,
        rating: j.rating, choice: j.choice, correction: j.correction, comment: j.comment, updated_at: j.updatedAt,
      });
    }
  }
  return rows;
}

/** "validations-2026-12-01-1432" from the export's time (local clock, as the speaker reads it). */
export function exportBase(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `validations-${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}`;
}

/** The terms every exported file inherits: the strictest of its sources' (strictestTerms), and which sources declared none. */
export function inheritedTerms(sources: readonly ItemSource[]) {
  const strictest = strictestTerms(sources.flatMap((s) => (s.terms ? [s.terms.inherited] : [])));
  /** sources picked without a manifest: their terms were never declared to the lab */
  const undeclared = sources.filter((s) => !s.terms).map((s) => s.name);
  return { ...strictest, release_approved: strictest.release_approved === true && undeclared.length === 0, undeclared };
}

/**
 * The files of an export: each kind that has rows, then the provenance record. `sources` are the
 * session's; only those the exported items came from are named.
 */
export async function buildExport(
  items: readonly ValidationItem[],
  judgements: Readonly<Record<string, Judgement>>,
  sources: readonly ItemSource[],
  opts: { sftForm: SftForm; now: Date },
): Promise<ExportFile[]> {
  const base = exportBase(opts.now);
  const rows = exportRows(items, judgements, opts.sftForm);
  const files: ExportFile[] = [];
  for (const kind of ['sft', 'dpo', 'ratings', 'judgements'] as const) {
    if (rows[kind].length) files.push({ name: `${base}.${kind}.jsonl`, kind, text: rows[kind].map((r) => JSON.stringify(r)).join('\n') + '\n', rows: rows[kind].length });
  }
  if (!files.length) return [];
  const judged = new Set(items.filter((it) => isJudged(judgements[it.id])).map((it) => it.source));
  const used = sources.filter((s) => judged.has(s.id));
  const enc = new TextEncoder();
  const provenance = {
    schema: 'lab-validation-export-v1',
    generator: GENERATOR,
    statement:
      'Validated on this device by a community speaker. The lab kept these judgements on this device only and sent them nowhere; ' +
      'these files exist because the speaker exported them.',
    exported_at: opts.now.toISOString(),
    files: await Promise.all(
      files.map(async (f) => {
        const bytes = enc.encode(f.text);
        return { name: f.name, kind: f.kind, rows: f.rows, bytes: bytes.length, sha256: await sha256Hex(bytes), use: USES[f.kind as ExportKind], ...(f.kind === 'sft' ? { form: opts.sftForm } : {}) };
      }),
    ),
    rating_values: RATING_VALUE,
    sources: used.map((s) => ({
      id: s.id, kind: s.kind, name: s.name, loaded_at: s.loadedAt, items: s.items, ...(s.sha256 ? { sha256: s.sha256 } : {}),
      ...(s.model ? { model: s.model } : {}), terms: s.terms ?? 'undeclared (no SOURCE_MANIFEST.yml was picked with it)',
    })),
    inherited: inheritedTerms(used),
    terms_note:
      'Every file inherits the terms of the items it was made from (above: the strictest of them). Stoney Nakoda language data belongs to its community. ' +
      'Training on these files still needs a SOURCE_MANIFEST.yml record that approves them (the lab is default-deny); nothing is approved automatically.',
  };
  files.push({ name: `${base}.provenance.json`, kind: 'provenance', text: JSON.stringify(provenance, null, 2) + '\n', rows: 0 });
  return files;
}
