// Declaring a source's terms: labelled templates for well-known public sets, and a record the user fills
// in, both written as a SOURCE_MANIFEST.yml the gate (governance.ts) then reads like any other. Nothing is
// approved silently: a template is used only when the user confirms that the files are that public set
// (`lab manifest --template … --confirm`, a tick box in the page), and a record the user writes says
// what they chose, including permission_status; the lab never fills that in for them.
import { stringify } from 'yaml';
import { parseManifest, PERMISSION_STATUSES, type PermissionStatus, type SourceRecord } from './governance.ts';

export interface PublicTemplate {
  /** what the user confirms, in a line */
  confirm: string;
  record: Omit<SourceRecord, 'path_glob'> & { origin: string; rights_holder: string; license: string; notes: string };
}

/** Public sets the lab knows; their licences as their publishers give them. */
export const PUBLIC_TEMPLATES: Record<string, PublicTemplate> = {
  gsm8k: {
    confirm: 'These files are (rows of) GSM8K as OpenAI published it (github.com/openai/grade-school-math, huggingface.co/datasets/openai/gsm8k), under the MIT licence.',
    record: {
      source_id: 'gsm8k_public', data_type: 'math_word_problems', origin: 'OpenAI, grade-school-math (GSM8K)', rights_holder: 'OpenAI',
      permission_status: 'approved_for_training', license: 'MIT', allowed_uses: ['training', 'evaluation'], prohibited_uses: [],
      contains_sensitive_content: false, review_contact: 'the user who confirmed this template',
      notes: 'Declared from the lab template "gsm8k" after the user confirmed the files are the public GSM8K set (MIT).',
    },
  },
  'gsm8k-platinum': {
    confirm: 'These files are (rows of) GSM8K-Platinum as the MadryLab published it (huggingface.co/datasets/madrylab/gsm8k-platinum), under the MIT licence.',
    record: {
      source_id: 'gsm8k_platinum_public', data_type: 'math_word_problems', origin: 'MadryLab, GSM8K-Platinum (a revision of the GSM8K test set)', rights_holder: 'MadryLab; OpenAI (GSM8K)',
      permission_status: 'approved_for_training', license: 'MIT', allowed_uses: ['training', 'evaluation'], prohibited_uses: [],
      contains_sensitive_content: false, review_contact: 'the user who confirmed this template',
      notes: 'Declared from the lab template "gsm8k-platinum" after the user confirmed the files are the public GSM8K-Platinum set (MIT). It is a test set: training on it spoils it for evaluation.',
    },
  },
};

/** A manifest as YAML text; the records are checked by parseManifest (a bad one is refused here, not later). */
export function manifestText(records: SourceRecord[], header: string): string {
  const text = `# ${header.split('\n').join('\n# ')}\n${stringify({ schema_version: '1.0', records }, { lineWidth: 0 })}`;
  parseManifest(text, 'the declared manifest');
  return text;
}

/** The manifest of a public template for the files at `pathGlob` (relative to the manifest's folder). */
export function templateManifest(name: string, pathGlob: string, confirmedBy = 'the user'): string {
  const t = PUBLIC_TEMPLATES[name];
  if (!t) throw new Error(`no template "${name}" (known: ${Object.keys(PUBLIC_TEMPLATES).join(', ')})`);
  // two records, as the user's own manifest declares a set approved for both: training, and public release
  const training = { ...t.record, path_glob: pathGlob } as SourceRecord;
  const release = { ...training, source_id: `${t.record.source_id}_public_release`, permission_status: 'approved_for_public_release', allowed_uses: ['upload', 'public_release', 'publishing'] } as SourceRecord;
  return manifestText([training, release], `Source manifest written by Stoney-RL Lab from its template "${name}", confirmed by ${confirmedBy} on ${new Date().toISOString().slice(0, 10)}:\n${t.confirm}`);
}

/** What a user declares for their own data (the schema's fields; every one required, none defaulted to an approval). */
export interface RecordForm {
  source_id: string;
  path_glob: string;
  data_type: string;
  origin: string;
  rights_holder: string;
  permission_status: PermissionStatus | '';
  license: string;
  allowed_uses: string;
  prohibited_uses: string;
  contains_sensitive_content: boolean;
  review_contact: string;
  notes: string;
}

export const EMPTY_RECORD_FORM: RecordForm = {
  source_id: '', path_glob: '', data_type: '', origin: '', rights_holder: '', permission_status: '', license: '',
  allowed_uses: '', prohibited_uses: '', contains_sensitive_content: true, review_contact: '', notes: '',
};

/** The form's problems (one per field, by name), or the manifest it declares. */
export function declareRecord(f: RecordForm): { problems: Record<string, string>; text: string | null } {
  const problems: Record<string, string> = {};
  const list = (v: string) => [...new Set(v.split(',').map((x) => x.trim()).filter(Boolean))];
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(f.source_id)) problems.source_id = 'lower-case letters, digits, _ and -, starting with a letter or digit';
  for (const k of ['path_glob', 'data_type', 'origin', 'rights_holder', 'license', 'review_contact'] as const) if (!f[k].trim()) problems[k] = 'required';
  if (!(PERMISSION_STATUSES as readonly string[]).includes(f.permission_status)) problems.permission_status = 'choose one: the status the source\'s community / rights holder gave';
  if (Object.keys(problems).length) return { problems, text: null };
  const record: SourceRecord = {
    source_id: f.source_id, path_glob: f.path_glob.trim(), data_type: f.data_type.trim(), origin: f.origin.trim(), rights_holder: f.rights_holder.trim(),
    permission_status: f.permission_status as PermissionStatus, license: f.license.trim(), allowed_uses: list(f.allowed_uses), prohibited_uses: list(f.prohibited_uses),
    contains_sensitive_content: f.contains_sensitive_content, review_contact: f.review_contact.trim(), notes: f.notes.trim(),
  } as SourceRecord & { license: string };
  return { problems, text: manifestText([record], `Source manifest declared in Stoney-RL Lab by its user on ${new Date().toISOString().slice(0, 10)}.`) };
}
