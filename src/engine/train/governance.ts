// Data governance for training: the user's source manifest (SOURCE_MANIFEST.yml, schema in
// shared/data/stoney/source_manifest.schema.json) decides whether a data file may enter training.
// Default-deny, as the community's governance asks:
//   - a manifest governs every file below its folder; a file no record matches is refused;
//   - a matching record that prohibits "training", or is restricted / removed_pending_review, refuses it;
//   - otherwise at least one matching record must say permission_status approved_for_training with
//     "training" in allowed_uses; nothing is approved automatically.
// What is trained from the file inherits the strictest terms of every matching record (the union of
// their prohibited uses, sensitive content if any says so); lab sft writes them to governance.json
// beside the adapter so later steps (export, upload) can honour them.
// Pure: text in, decision out (the CLI finds the manifest on disk; the browser will pass its own).
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
}

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
  inherited: { prohibited_uses: string[]; contains_sensitive_content: boolean; sources: string[] };
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
    return rec as unknown as SourceRecord;
  });
}

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
export function decideTraining(records: SourceRecord[], path: string, manifest: string): TrainingDecision {
  const matched = records.filter((r) => globToRegExp(r.path_glob).test(path));
  const inherited = {
    prohibited_uses: [...new Set(matched.flatMap((r) => r.prohibited_uses))].sort(),
    contains_sensitive_content: matched.some((r) => r.contains_sensitive_content),
    sources: matched.map((r) => r.source_id),
  };
  const base = { manifest, path, matched: matched.map((r) => ({ source_id: r.source_id, permission_status: r.permission_status, allowed_uses: r.allowed_uses, prohibited_uses: r.prohibited_uses })), inherited };
  const deny = (reason: string): TrainingDecision => ({ allowed: false, reason, ...base });
  if (matched.length === 0) return deny(`${manifest}: no record matches ${path}; the manifest's folder is default-deny (a record approved_for_training, reviewed by the source's community, is needed)`);
  const prohibiting = matched.find((r) => r.prohibited_uses.includes('training'));
  if (prohibiting) return deny(`${manifest}: record ${prohibiting.source_id} prohibits training for ${path}`);
  const blocked = matched.find((r) => r.permission_status === 'restricted' || r.permission_status === 'removed_pending_review');
  if (blocked) return deny(`${manifest}: record ${blocked.source_id} is ${blocked.permission_status} for ${path}`);
  const approved = matched.filter((r) => r.permission_status === 'approved_for_training' && r.allowed_uses.includes('training'));
  if (approved.length === 0) {
    const seen = matched.map((r) => `${r.source_id}: ${r.permission_status}`).join(', ');
    return deny(`${manifest}: no record approves training for ${path} (${seen}); approved_for_training with "training" allowed is needed`);
  }
  return { allowed: true, reason: `${manifest}: ${approved.map((r) => r.source_id).join(', ')} approve training for ${path}`, ...base };
}
