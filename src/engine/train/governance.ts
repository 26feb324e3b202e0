// Data governance for training: the user's source manifest (SOURCE_MANIFEST.yml, schema in
// shared/data/stoney/source_manifest.schema.json) decides whether a data file may enter training.
// Default-deny, as the community's governance asks:
//   - data no manifest governs is refused (the CLI: no SOURCE_MANIFEST.yml at or above the file's real
//     folder and no --manifest; the page: a picked file without a manifest picked with it);
//   - a manifest governs every file below its folder; a file no record matches is refused;
//   - a matching record that prohibits "training", or is restricted / removed_pending_review, or has a
//     permission_status the schema does not know, refuses it;
//   - otherwise at least one matching record must say permission_status approved_for_training with
//     "training" in allowed_uses; nothing is approved automatically.
// The one exception is the lab's own synthetic task sets (src/tasks/): the embedded sets the page uses
// (EMBEDDED_DECISION), and a file `lab tasks` wrote, recognised by its provenance record
// (<file>.provenance.json) whose sha256 is the file's content (decideProvenance; an edited file is no
// longer recognised and falls back to the manifest rules).
// What is trained from the file inherits the strictest terms of every matching record (the union of
// their prohibited uses, sensitive content if any says so); lab sft writes them to governance.json
// beside the adapter so later steps (export, upload) can honour them.
// Pure: text in, decision out (the CLI finds the manifest on disk, ../../cli/governance-fs.ts; the
// browser passes what the user picked, decideUpload).
import { parse } from 'yaml';

export const PERMISSION_STATUSES = ['unknown', 'internal_only', 'approved_for_training', 'approved_for_public_release', 'restricted', 'removed_pending_review'] as const;
export type PermissionStatus = (typeof PERMISSION_STATUSES)[number];

export interface SourceRecord {
  source_id: string;
  path_glob: string;
  data_type: string;
  permission_status: PermissionStatus;
  allowed_uses: string[];
  prohibited_uses: string[];
  contains_sensitive_content: boolean;
  review_contact: string;
  origin?: string;
  rights_holder?: string;
  notes?: string;
  /** Local Contexts labels and notices of the source (an extension of the user's schema: see parseLocalContexts) */
  local_contexts?: unknown;
}

/**
 * A Local Contexts Traditional Knowledge / Biocultural label or notice, as the Local Contexts Hub API
 * returns it in a project's "tk_labels", "bc_labels" and "notice" lists (unique_id, name, label_type or
 * notice_type, label_text or default_text, img_url), kept with the data and everything made from it.
 */
export interface LcLabel {
  kind: 'tk_label' | 'bc_label' | 'notice';
  id: string | null;
  name: string;
  type: string | null;
  text: string | null;
  img_url: string | null;
  community: string | null;
}

/** Shown with Stoney material and with any source that carries Local Contexts labels. */
export const CULTURAL_CONTEXT_NOTICE =
  'Cultural context: this material comes from a First Nations community (Stoney Nakoda) or carries Local Contexts labels. It belongs to its community; use it only as its records allow, keep its labels with everything made from it, and ask the review contact before any other use.';

export class GovernanceError extends Error {
  override name = 'GovernanceError';
}

export interface TrainingDecision {
  allowed: boolean;
  /** one line: why */
  reason: string;
  manifest: string | null;
  /** the data file's path relative to the manifest's folder */
  path: string;
  matched: { source_id: string; permission_status: string; allowed_uses: string[]; prohibited_uses: string[] }[];
  /** terms the trained artifact inherits (strictest of the matched records) */
  inherited: {
    prohibited_uses: string[];
    contains_sensitive_content: boolean;
    sources: string[];
    /**
     * Every source of the artifact is approved for public release (a matched record says
     * approved_for_public_release; the lab's own synthetic sets are): export and publishing need it.
     * Absent in records written before it existed (exportProblem then reads `matched`).
     */
    release_approved?: boolean;
    /** the union of the matched records' Local Contexts labels and notices (absent when none) */
    local_contexts?: LcLabel[];
    /** CULTURAL_CONTEXT_NOTICE when a matched record is Stoney material or carries labels (absent otherwise) */
    cultural_context?: string;
  };
}

const REQUIRED = ['source_id', 'path_glob', 'data_type', 'origin', 'rights_holder', 'permission_status', 'license', 'allowed_uses', 'prohibited_uses', 'contains_sensitive_content', 'review_contact', 'notes'];

/** Parses and checks a manifest; every problem names the file and the record. */
export function parseManifest(text: string, file: string): SourceRecord[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new GovernanceError(`${file}: not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  const records = (doc as { records?: unknown })?.records;
  if (!Array.isArray(records) || records.length === 0) throw new GovernanceError(`${file}: a source manifest needs a non-empty "records" list`);
  return records.map((r, i) => {
    const where = `${file}: record ${i + 1}${typeof (r as SourceRecord)?.source_id === 'string' ? ` (${(r as SourceRecord).source_id})` : ''}`;
    if (typeof r !== 'object' || r === null) throw new GovernanceError(`${where}: not a mapping`);
    const rec = r as Record<string, unknown>;
    const missing = REQUIRED.filter((k) => !(k in rec));
    if (missing.length) throw new GovernanceError(`${where}: missing ${missing.join(', ')}`);
    if (typeof rec.path_glob !== 'string' || !rec.path_glob) throw new GovernanceError(`${where}: path_glob must be a non-empty string`);
    if (!(PERMISSION_STATUSES as readonly unknown[]).includes(rec.permission_status)) {
      throw new GovernanceError(`${where}: permission_status ${JSON.stringify(rec.permission_status)} is not one of ${PERMISSION_STATUSES.join(', ')}`);
    }
    for (const k of ['allowed_uses', 'prohibited_uses']) {
      if (!Array.isArray(rec[k]) || (rec[k] as unknown[]).some((x) => typeof x !== 'string')) throw new GovernanceError(`${where}: ${k} must be a list of strings`);
    }
    if (typeof rec.contains_sensitive_content !== 'boolean') throw new GovernanceError(`${where}: contains_sensitive_content must be true or false`);
    if (rec.local_contexts !== undefined) parseLocalContexts(rec.local_contexts, where);
    return rec as unknown as SourceRecord;
  });
}

/**
 * How to declare a source's terms, said with every refusal that a manifest could lift. Only the
 * source's community / rights holder can approve; the lab never writes such a record itself.
 */
export function howToDeclare(where: 'cli' | 'page' = 'cli'): string {
  const record =
    "a record whose path_glob matches the file, whose permission_status is approved_for_training and whose allowed_uses include training (only after the source's community / rights holder has approved it)";
  return where === 'cli'
    ? `To declare a source's terms, put a SOURCE_MANIFEST.yml (schema: source_manifest.schema.json) in the data's folder or a folder above it, with ${record}, or pass --manifest <file>.`
    : `To declare a source's terms, choose its SOURCE_MANIFEST.yml (schema: source_manifest.schema.json) with the file and give the file's path in it: the manifest needs ${record}.`;
}

/** A refusal before any record was consulted (no manifest, a manifest that cannot be read, ...). */
export function refusal(reason: string, path: string, manifest: string | null = null): TrainingDecision {
  return { allowed: false, reason, manifest, path, matched: [], inherited: { prohibited_uses: [], contains_sensitive_content: false, sources: [], release_approved: false } };
}

/**
 * A record's `local_contexts`: the Local Contexts Hub API's project form, {"unique_id"?, "title"?,
 * "project_page"?, "tk_labels"?: [...], "bc_labels"?: [...], "notice"?: [...]}, each item with at least a
 * "name". (The user's schema allows no extra field; this one is the lab's extension, read only here.)
 */
export function parseLocalContexts(v: unknown, where: string): LcLabel[] {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new GovernanceError(`${where}: local_contexts must be a mapping with tk_labels, bc_labels and/or notice lists (the Local Contexts Hub API's project form)`);
  const doc = v as Record<string, unknown>;
  const out: LcLabel[] = [];
  const str = (x: unknown) => (typeof x === 'string' && x ? x : null);
  for (const [key, kind] of [['tk_labels', 'tk_label'], ['bc_labels', 'bc_label'], ['notice', 'notice'], ['notices', 'notice']] as const) {
    const list = doc[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new GovernanceError(`${where}: local_contexts.${key} must be a list`);
    list.forEach((it, i) => {
      const item = it as Record<string, unknown> | null;
      if (!item || typeof item !== 'object' || typeof item.name !== 'string' || !item.name) throw new GovernanceError(`${where}: local_contexts.${key}[${i}] needs a "name"`);
      const community = item.community && typeof item.community === 'object' ? str((item.community as Record<string, unknown>).name) : str(item.community);
      out.push({ kind, id: str(item.unique_id), name: item.name, type: str(item.label_type) ?? str(item.notice_type), text: str(item.label_text) ?? str(item.default_text), img_url: str(item.img_url), community });
    });
  }
  if (!out.length) throw new GovernanceError(`${where}: local_contexts has no tk_labels, bc_labels or notice`);
  return out;
}

/** Stoney material: a manifest whose records name the Stoney Nakoda governs a community's data (its records need not each say so). */
// (its ids, paths, data types and rights holders; not free-text notes, and not this project's own name)
const isStoney = (r: SourceRecord): boolean => /stoney(?!-rl)|nakoda/i.test([r.source_id, r.data_type, r.rights_holder, r.path_glob].filter(Boolean).join(' '));

/** A manifest path_glob as a RegExp over '/'-separated relative paths: ** any depth, * and ? within a segment. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++; // "**/" also matches no folder
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** May the file at `path` (relative to the manifest's folder, '/'-separated) enter training? */
export function decideTraining(records: SourceRecord[], path: string, manifest: string, where: 'cli' | 'page' = 'cli'): TrainingDecision {
  const matched = records.filter((r) => globToRegExp(r.path_glob).test(path));
  const labels = new Map<string, LcLabel>();
  for (const r of matched) if (r.local_contexts !== undefined) for (const l of parseLocalContexts(r.local_contexts, `record ${r.source_id}`)) labels.set(`${l.kind}:${l.id ?? l.name}`, l);
  const inherited: TrainingDecision['inherited'] = {
    prohibited_uses: [...new Set(matched.flatMap((r) => r.prohibited_uses))].sort(),
    contains_sensitive_content: matched.some((r) => r.contains_sensitive_content),
    sources: matched.map((r) => r.source_id),
    release_approved: matched.some((r) => r.permission_status === 'approved_for_public_release'),
    ...(labels.size ? { local_contexts: [...labels.values()] } : {}),
    ...(labels.size || (matched.length && records.some(isStoney)) ? { cultural_context: CULTURAL_CONTEXT_NOTICE } : {}),
  };
  const base = { manifest, path, matched: matched.map((r) => ({ source_id: r.source_id, permission_status: r.permission_status, allowed_uses: r.allowed_uses, prohibited_uses: r.prohibited_uses })), inherited };
  const deny = (reason: string): TrainingDecision => ({ allowed: false, reason, ...base });
  if (path === '' || path.startsWith('/') || path.split('/').includes('..')) return deny(`${manifest}: ${path || 'the file'} is not below the manifest's folder; a manifest governs only the files at or below its folder`);
  if (matched.length === 0) return deny(`${manifest}: no record matches ${path}; the manifest's folder is default-deny. ${howToDeclare(where)}`);
  const unknown = matched.find((r) => !(PERMISSION_STATUSES as readonly string[]).includes(r.permission_status));
  if (unknown) return deny(`${manifest}: record ${unknown.source_id} has permission_status ${JSON.stringify(unknown.permission_status)}, which is not one of ${PERMISSION_STATUSES.join(', ')}: refused`);
  const prohibiting = matched.find((r) => r.prohibited_uses.includes('training'));
  if (prohibiting) return deny(`${manifest}: record ${prohibiting.source_id} prohibits training for ${path}`);
  const blocked = matched.find((r) => r.permission_status === 'restricted' || r.permission_status === 'removed_pending_review');
  if (blocked) return deny(`${manifest}: record ${blocked.source_id} is ${blocked.permission_status} for ${path}${blocked.permission_status === 'removed_pending_review' ? ' (a removal stops all downstream work until it is reviewed)' : ''}`);
  const approved = matched.filter((r) => r.permission_status === 'approved_for_training' && r.allowed_uses.includes('training'));
  if (approved.length === 0) {
    const seen = matched.map((r) => `${r.source_id}: ${r.permission_status}`).join(', ');
    return deny(`${manifest}: no record approves training for ${path} (${seen}); approved_for_training with "training" allowed is needed`);
  }
  return { allowed: true, reason: `${manifest}: ${approved.map((r) => r.source_id).join(', ')} approve training for ${path}`, ...base };
}

// ---- the lab's own synthetic task sets ----

/** The provenance record `lab tasks` writes beside its output, as <file>.provenance.json. */
export interface TaskSetProvenance {
  schema: 'lab-task-provenance-v1';
  /** what wrote the file */
  generator: string;
  /** the task set(s), in the order their rows were written ("arithmetic", or "arithmetic,conlang") */
  task: string;
  split: string;
  seed: number;
  /** items per task */
  n: number;
  /** rows as full items (--items) rather than {question, answer} */
  items: boolean;
  synthetic: true;
  contains_sensitive_content: false;
  /** the output's name, its size and the sha256 of the exact bytes written */
  file: string;
  bytes: number;
  sha256: string;
}

export const TASK_GENERATOR = 'lab tasks (src/tasks/, Stoney-RL Lab)';
/** The embedded task sets: generated by the lab's code, no outside data (src/tasks/). */
export const EMBEDDED_TASKS = ['arithmetic', 'conlang'] as const;

const taskSourceId = (task: string) => `lab_tasks_${task.replace(/[^a-z0-9]+/g, '_')}`;

function approvedSynthetic(tasks: string[], reason: string, path: string): TrainingDecision {
  const ids = tasks.map(taskSourceId);
  return {
    allowed: true,
    reason,
    manifest: null,
    path,
    matched: ids.map((source_id) => ({ source_id, permission_status: 'approved_for_training', allowed_uses: ['training'], prohibited_uses: [] })),
    inherited: { prohibited_uses: [], contains_sensitive_content: false, sources: ids, release_approved: true },
  };
}

/**
 * The decision for an embedded task set the page trains on without a file: the project's own
 * synthetic data, approved for training. An unknown task name is refused.
 */
export function EMBEDDED_DECISION(task: string): TrainingDecision {
  if (!(EMBEDDED_TASKS as readonly string[]).includes(task)) return refusal(`embedded:${task}: no embedded task set of this name (known: ${EMBEDDED_TASKS.join(', ')})`, `embedded:${task}`);
  return approvedSynthetic([task], `embedded task set ${task}: the lab's own synthetic data (src/tasks/), approved for training`, `embedded:${task}`);
}

/**
 * Is the data a `lab tasks` output, unchanged? `record` is the text of <file>.provenance.json and
 * `sha256` the hash of the data's bytes. Returns the approval, or null with why it is not recognised
 * (then the manifest rules decide).
 */
export function decideProvenance(record: string, sha256: string, path: string, recordFile: string): { decision: TrainingDecision | null; note: string } {
  let p: Partial<TaskSetProvenance>;
  try {
    p = JSON.parse(record) as Partial<TaskSetProvenance>;
  } catch {
    return { decision: null, note: `${recordFile} is not valid JSON` };
  }
  const tasks = typeof p.task === 'string' ? p.task.split(',') : [];
  if (p?.schema !== 'lab-task-provenance-v1' || p.generator !== TASK_GENERATOR || p.synthetic !== true || !tasks.length || !tasks.every((t) => (EMBEDDED_TASKS as readonly string[]).includes(t))) {
    return { decision: null, note: `${recordFile} is not a provenance record of \`lab tasks\`` };
  }
  if (p.sha256 !== sha256) return { decision: null, note: `${recordFile} does not match the file's content (edited since \`lab tasks\` wrote it?): not recognised as the lab's own task set` };
  const what = `${p.task} ${p.split}, ${p.n} items per task, seed ${p.seed}`;
  return { decision: approvedSynthetic(tasks, `${path}: the lab's own synthetic task set (${what}; ${recordFile}, sha256 matches), approved for training`, path), note: '' };
}

/** A data file the user picked in the page, with the manifest they picked for it (if any). */
export interface UploadInput {
  /** the data file's name */
  name: string;
  /** its text (not used by the rules today; kept so a decision can later check content) */
  text?: string;
  /**
   * The manifest the user supplied: its text, its file name, and the data file's path relative to
   * the manifest's folder ('/'-separated, e.g. "OpenAIFineTune/stoney_valid.jsonl").
   */
  manifest?: { text: string; name: string; path: string } | null;
}

/** The '/'-separated relative path the user gave, or null when it is not one (absolute, "..", empty). */
function relativePath(path: string): string | null {
  const parts = path.replace(/\\/g, '/').split('/').filter((x) => x !== '' && x !== '.');
  if (!parts.length || path.startsWith('/') || /^[a-zA-Z]:/.test(path) || parts.includes('..')) return null;
  return parts.join('/');
}

/**
 * May a file the user picked in the page enter training? Only with a manifest they also supply, whose
 * records approve the file at `manifest.path`. No manifest: refused, saying how to declare the terms.
 */
export function decideUpload(input: UploadInput): TrainingDecision {
  const m = input.manifest;
  if (!m) return refusal(`${input.name}: no source manifest was given with this file; training is default-deny. ${howToDeclare('page')}`, input.name);
  const path = relativePath(m.path);
  if (path === null) return refusal(`${m.name}: "${m.path}" is not a path inside the manifest's folder (give the data file's path relative to the manifest, e.g. data/train.jsonl)`, m.path, m.name);
  let records: SourceRecord[];
  try {
    records = parseManifest(m.text, m.name);
  } catch (e) {
    if (e instanceof GovernanceError) return refusal(`${e.message}: refused`, path, m.name);
    throw e;
  }
  return decideTraining(records, path, m.name, 'page');
}

// ---- export of what was made from the data ----

/** Uses that taking a derived artifact off this device amounts to: a record prohibiting one forbids the export. */
export const EXPORT_USES = ['upload', 'public_release', 'publishing', 'export', 'redistribution'] as const;

/** The parts of a governance.json that decide an export. */
export interface ExportTerms {
  inherited?: { prohibited_uses?: string[]; sources?: string[]; release_approved?: boolean };
  matched?: { source_id: string; permission_status: string }[];
  revoked?: { reason?: string };
  /** inputs with no provenance record (a report's prompt file picked without a manifest) */
  undeclared?: string[];
}

/**
 * Why an artifact (an adapter, a checkpoint, a report) may not leave the lab, or null when it may.
 * `terms` is its governance.json: the decision it was made under, whose inherited terms are the
 * strictest of its sources'. Export and publishing of a derived artifact need approved_for_public_release
 * for every source (the issue's rule; the lab's own synthetic sets have it): a revoked artifact never
 * leaves; one whose sources prohibit upload, public release, publishing, export or redistribution does
 * not either (the Stoney sample's adapter: one of its records prohibits upload and public release); nor
 * one whose sources are approved for training only. No governance.json: not made from governed data.
 */
export function exportProblem(terms: ExportTerms | null): string | null {
  if (!terms) return null;
  if (terms.revoked) return `it was made from a source that was withdrawn (${terms.revoked.reason ?? 'revoked'}): it may not be used or exported until the source is reviewed`;
  const sources = (terms.inherited?.sources ?? []).join(', ') || 'unknown';
  const banned = (terms.inherited?.prohibited_uses ?? []).filter((u) => (EXPORT_USES as readonly string[]).includes(u));
  if (banned.length) return `its data's terms prohibit ${banned.join(', ')} (sources ${sources}; derived artifacts inherit the strictest terms): it stays in this lab`;
  if (terms.undeclared?.length) return `${terms.undeclared.join(', ')} ${terms.undeclared.length === 1 ? 'has' : 'have'} no declared terms (no source manifest was given with ${terms.undeclared.length === 1 ? 'it' : 'them'}; no record means unknown): export needs a record approved_for_public_release for every source, so it stays in this lab`;
  const approved = terms.inherited?.release_approved ?? (terms.matched ?? []).some((m) => m.permission_status === 'approved_for_public_release');
  if (!approved) {
    const seen = (terms.matched ?? []).map((m) => `${m.source_id}: ${m.permission_status}`).join(', ');
    return `no record of its sources says approved_for_public_release (${seen || `sources ${sources}`}); export and publishing of what was made from them need it, from the source's community / rights holder: it stays in this lab`;
  }
  return null;
}

/**
 * The strictest of several inherited terms (what a thing made from several sources inherits): prohibited
 * uses united, sensitive if any is, sources and Local Contexts labels united (each once), and the
 * cultural-context notice if any carries it.
 */
export function strictestTerms(terms: readonly TrainingDecision['inherited'][]): TrainingDecision['inherited'] {
  const labels = new Map<string, LcLabel>();
  for (const t of terms) for (const l of t.local_contexts ?? []) labels.set(`${l.kind}:${l.id ?? l.name}`, l);
  const notice = terms.find((t) => t.cultural_context)?.cultural_context;
  return {
    prohibited_uses: [...new Set(terms.flatMap((t) => t.prohibited_uses))].sort(),
    contains_sensitive_content: terms.some((t) => t.contains_sensitive_content),
    sources: [...new Set(terms.flatMap((t) => t.sources))],
    release_approved: terms.every((t) => t.release_approved === true),
    ...(labels.size ? { local_contexts: [...labels.values()] } : {}),
    ...(notice ? { cultural_context: notice } : {}),
  };
}

/** The refusal of what was made from a withdrawn source (a run's files, its adapter, its evaluation). */
export function withdrawnError(who: string, revoked: { at: string; reason: string }): GovernanceError {
  return new GovernanceError(`${who} refused: a source of its data was withdrawn (${revoked.reason}; marked ${revoked.at}); a removal stops downstream work until it is reviewed`);
}
