// Tokenizer: HF tokenizer.json + tokenizer_config.json (+ chat_template.jinja) → encode / decode /
// chat template, behaving as transformers' tokenizer for the same files.
//
// Built the way transformers.js builds its PreTrainedTokenizer (src/tokenization_utils.js in
// @huggingface/transformers 4.3.1): `new Tokenizer(tokenizerJSON, tokenizerConfig)` from
// @huggingface/tokenizers for the tokenizer pipeline and `new Template(chat_template)` from
// @huggingface/jinja for chat templates. We import those two small packages directly instead of
// '@huggingface/transformers', whose entry module loads onnxruntime-node (native) and sharp at import
// time in Node and bundles onnxruntime-web into the browser build; transformers 4.3.1 bundles exactly
// these packages (tokenizers 0.2.0, jinja 0.5.x) for its tokenizers, and its Llama/Qwen2/GPT2
// tokenizer classes add nothing to PreTrainedTokenizer that we use (LlamaTokenizer only sets
// padding_side).
//
// Where transformers.js and Python transformers differ, we follow Python transformers:
//   - pad token: `pad_token` of tokenizer_config.json only (transformers.js falls back to eos).
//   - decode drops ids that are not in the vocabulary (the Rust tokenizer does; tokenizers.js would
//     map them to unk_token, which byte-level BPE does not have) and decode([]) is ''.
//   - clean_up_tokenization_spaces: transformers 5 ignores it for BPE tokenizers (it would turn
//     "a ." into "a.") unless clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output
//     is also set; other models follow the config, default false (transformers ≥ 4.45). tokenizers.js
//     defaults it to true, so we always pass it explicitly.
//   - chat_template.jinja, when present, takes priority over tokenizer_config.json's chat_template.
// Special tokens that appear in the text (e.g. "<|im_end|>") are parsed as those tokens whether or
// not addSpecialTokens is set, as in both libraries (split_special_tokens=False); addSpecialTokens
// only controls the post-processor (e.g. Llama's BOS).
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import type { FileSource } from './checkpoint.ts';
import { CheckpointError } from './safetensors.ts';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  /** End with the prompt that opens an assistant turn (transformers' add_generation_prompt). */
  addGenerationPrompt?: boolean;
  /** Extra template variables (transformers' **kwargs), e.g. { date_string: '26 Jul 2024' }. */
  vars?: Record<string, unknown>;
}

export interface LabTokenizer {
  /** Token ids of `text`; addSpecialTokens (default false) runs the post-processor (e.g. adds BOS). */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** Text of `ids`; skipSpecialTokens (default false) drops special added tokens. */
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  /** apply_chat_template(messages, tokenize=True): the rendered text encoded without special tokens. */
  applyChatTemplate(messages: ChatMessage[], opts?: ChatTemplateOptions): number[];
  /** apply_chat_template(messages, tokenize=False). */
  renderChatTemplate(messages: ChatMessage[], opts?: ChatTemplateOptions): string;
  /** len(tokenizer) in transformers: distinct tokens in the vocabulary, added tokens included. */
  readonly vocabSize: number;
  readonly eosTokenId: number | null;
  readonly bosTokenId: number | null;
  readonly padTokenId: number | null;
  /** The chat template in use, or null when the tokenizer has none. */
  readonly chatTemplate: string | null;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
}

/** Model types @huggingface/tokenizers implements (the Rust library also has WordLevel). */
const SUPPORTED_MODELS = ['BPE', 'Unigram', 'WordPiece'];

/** Special-token attributes transformers passes to chat templates (SPECIAL_TOKENS_ATTRIBUTES). */
const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'];

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A special token as tokenizer_config.json writes it: a string, an AddedToken object
 * ({"__type": "AddedToken", "content": ...}) or null.
 */
function tokenString(config: Json, key: string, file: string): string | null {
  const v = config[key];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  throw new CheckpointError(file, `${key} must be a string or an AddedToken object, got ${JSON.stringify(v)}`);
}

/** Checks what tokenizers.js would otherwise fail on obscurely; returns tokenizer.json with defaults filled. */
function checkTokenizerJSON(json: unknown, file: string): Json {
  if (!isObject(json)) throw new CheckpointError(file, 'expected a JSON object');
  const model = json.model;
  if (!isObject(model)) throw new CheckpointError(file, 'missing "model" object');
  const type = model.type;
  if (typeof type !== 'string' || !SUPPORTED_MODELS.includes(type)) {
    throw new CheckpointError(file, `unsupported model type ${JSON.stringify(type)} (supported: ${SUPPORTED_MODELS.join(', ')})`);
  }
  if (type === 'BPE') {
    if (!isObject(model.vocab)) throw new CheckpointError(file, 'BPE model.vocab must be an object {token: id}');
    const merges = model.merges;
    if (!Array.isArray(merges)) throw new CheckpointError(file, 'BPE model.merges must be an array');
    // tokenizers.js picks the merges form from the first entry: "a b" strings (tokenizers < 0.20)
    // or ["a", "b"] pairs (newer); a file that mixes both would be misread, so reject it here.
    const pairs = merges.length > 0 && Array.isArray(merges[0]);
    for (let i = 0; i < merges.length; i++) {
      const m = merges[i];
      const ok = pairs
        ? Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string'
        : typeof m === 'string' && m.includes(' ');
      if (!ok) throw new CheckpointError(file, `model.merges[${i}] is ${JSON.stringify(m)}; expected ${pairs ? '["a", "b"]' : '"a b"'} like merges[0]`);
    }
  }
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) throw new CheckpointError(file, '"added_tokens" must be an array');
  for (const t of added) {
    if (!isObject(t) || typeof t.content !== 'string' || typeof t.id !== 'number') {
      throw new CheckpointError(file, `added token ${JSON.stringify(t)} needs "id" (number) and "content" (string)`);
    }
  }
  // tokenizers.js requires these keys to exist (null is fine); older files may omit some.
  return { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...json, added_tokens: added };
}

/** The single chat template to use: the 'default' entry when the config holds a list of named ones. */
function pickChatTemplate(v: unknown, file: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const named = v.find((e) => isObject(e) && e.name === 'default');
    if (isObject(named) && typeof named.template === 'string') return named.template;
    const names = v.map((e) => (isObject(e) ? e.name : '?')).join(', ');
    throw new CheckpointError(file, `chat_template has no "default" entry (has: ${names})`);
  }
  throw new CheckpointError(file, 'chat_template must be a string or a list of {name, template}');
}

export interface TokenizerFiles {
  /** Parsed tokenizer.json. */
  tokenizerJSON: unknown;
  /** Parsed tokenizer_config.json ({} when the repository has none). */
  tokenizerConfig?: unknown;
  /** Contents of chat_template.jinja, which overrides tokenizer_config.json's chat_template. */
  chatTemplate?: string | null;
  /** Names used in error messages. */
  names?: { tokenizer?: string; config?: string };
}

/** Builds the tokenizer from already-read files (no I/O). */
export function tokenizerFromJSON(files: TokenizerFiles): LabTokenizer {
  const tokFile = files.names?.tokenizer ?? 'tokenizer.json';
  const cfgFile = files.names?.config ?? 'tokenizer_config.json';
  const tokJSON = checkTokenizerJSON(files.tokenizerJSON, tokFile);
  const config: Json = files.tokenizerConfig === undefined ? {} : (files.tokenizerConfig as Json);
  if (!isObject(config)) throw new CheckpointError(cfgFile, 'expected a JSON object');

  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tokJSON, config);
  } catch (e) {
    throw new CheckpointError(tokFile, `cannot build tokenizer: ${(e as Error).message}`);
  }

  const idOf = (key: string): number | null => {
    const s = tokenString(config, key, cfgFile);
    return s === null ? null : (tok.token_to_id(s) ?? null);
  };
  // Variables every template render gets: the special tokens as strings (transformers' special_tokens_map).
  const specialVars: Record<string, unknown> = {};
  for (const key of SPECIAL_TOKEN_KEYS) {
    const s = tokenString(config, key, cfgFile);
    if (s !== null) specialVars[key] = s;
  }
  const extra = config.additional_special_tokens;
  if (Array.isArray(extra)) specialVars.additional_special_tokens = extra.map((t) => (isObject(t) ? t.content : t));

  const chatTemplate = files.chatTemplate ?? pickChatTemplate(config.chat_template, cfgFile);
  let compiled: Template | null = null; // parsed on first use, so a bad template only fails chat calls
  const render = (messages: ChatMessage[], opts: ChatTemplateOptions = {}): string => {
    if (chatTemplate === null) {
      throw new Error(`no chat template: ${cfgFile} has no chat_template and there is no chat_template.jinja`);
    }
    compiled ??= new Template(chatTemplate);
    return compiled.render({
      messages,
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      tools: null,
      documents: null,
      ...specialVars,
      ...opts.vars,
    });
  };

  // See the header: transformers 5 never cleans up BPE output unless forced.
  const modelType = (tokJSON.model as Json).type;
  const cleanup =
    config.clean_up_tokenization_spaces === true &&
    (modelType !== 'BPE' || config.clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output === true);

  const vocabSize = tok.get_vocab(true).size;
  const encode = (text: string, opts: { addSpecialTokens?: boolean } = {}): number[] =>
    tok.encode(text, { add_special_tokens: opts.addSpecialTokens ?? false }).ids;

  return {
    encode,
    decode(ids, opts = {}) {
      // Ids outside the vocabulary (e.g. padding rows of a larger embedding) decode to nothing.
      const known = ids.filter((id) => tok.id_to_token(id) !== undefined);
      if (known.length === 0) return '';
      return tok.decode(known, { skip_special_tokens: opts.skipSpecialTokens ?? false, clean_up_tokenization_spaces: cleanup });
    },
    renderChatTemplate: render,
    applyChatTemplate: (messages, opts) => encode(render(messages, opts), { addSpecialTokens: false }),
    vocabSize,
    eosTokenId: idOf('eos_token'),
    bosTokenId: idOf('bos_token'),
    padTokenId: idOf('pad_token'),
    chatTemplate,
    tokenToId: (token) => tok.token_to_id(token),
    idToToken: (id) => tok.id_to_token(id),
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads a text file of `src`, or null when it is absent (and not required). */
async function readText(src: FileSource, path: string, required: boolean): Promise<string | null> {
  const file = `${src.name}/${path}`;
  const size = await src.size(path);
  if (size === null) {
    if (required) throw new CheckpointError(file, 'missing (a tokenizer needs tokenizer.json)');
    return null;
  }
  const bytes = await src.read(path);
  try {
    return utf8.decode(bytes); // a UTF-8 BOM is dropped
  } catch {
    throw new CheckpointError(file, 'not valid UTF-8 text');
  }
}

async function readJSON(src: FileSource, path: string, required: boolean): Promise<unknown> {
  const text = await readText(src, path, required);
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${src.name}/${path}`, `not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Loads tokenizer.json (required), tokenizer_config.json (optional: ids of special tokens and the
 * chat template come from it) and chat_template.jinja (optional) from `src`. No network, no paths
 * of its own: all reads go through the FileSource.
 */
export async function loadTokenizer(src: FileSource): Promise<LabTokenizer> {
  const [tokenizerJSON, tokenizerConfig, chatTemplate] = await Promise.all([
    readJSON(src, 'tokenizer.json', true),
    readJSON(src, 'tokenizer_config.json', false),
    readText(src, 'chat_template.jinja', false),
  ]);
  return tokenizerFromJSON({
    tokenizerJSON,
    tokenizerConfig,
    chatTemplate,
    names: { tokenizer: `${src.name}/tokenizer.json`, config: `${src.name}/tokenizer_config.json` },
  });
}
