// Writes two tiny hand-built byte-level BPE tokenizers (no real model files) for tokenizer.test.ts:
//   qwen-like/   Qwen2-style: NFC normalizer, Qwen2 split regex (single digits), ByteLevel
//                post-processor (no BOS), bos_token null, eos <|im_end|>, pad <|endoftext|>,
//                ChatML chat_template inside tokenizer_config.json.
//   llama-like/  Llama-3-style: no normalizer, digits in groups of 3, ignore_merges, BOS added by a
//                TemplateProcessing post-processor, clean_up_tokenization_spaces true (which
//                transformers 5 ignores for BPE), chat_template.jinja file that overrides a decoy
//                chat_template in tokenizer_config.json.
// Merges are written in the new ["a", "b"] form; the test derives the old "a b" form from it.
// Run: node tools/run-node.mjs src/engine/model/testdata/tokenizer/make-fixture.ts
// then: python make_expected.py (needs transformers) to refresh expected.json in each directory.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** GPT-2 bytes_to_unicode: byte b → printable symbol; index in the list = vocab id (GPT-2 order). */
export function byteSymbols(): { byte: number; sym: string }[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b); // '!'..'~'
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b); // '¡'..'¬'
  for (let b = 0xae; b <= 0xff; b++) bs.push(b); // '®'..'ÿ'
  const out = bs.map((b) => ({ byte: b, sym: String.fromCodePoint(b) }));
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) out.push({ byte: b, sym: String.fromCodePoint(256 + n++) });
  return out; // 256 entries; space 0x20 → 'Ġ', '\n' → 'Ċ'
}

const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// Block tags on their own lines: checks trim_blocks / lstrip_blocks as transformers sets them.
const LLAMA_JINJA = `{{- bos_token }}
{%- for message in messages %}
    {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] | trim + '<|im_end|>\\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
`;

/** Byte-level symbols of a string's UTF-8 bytes. */
function symbolsOf(text: string): string[] {
  const map = new Map(byteSymbols().map((e) => [e.byte, e.sym]));
  return [...new TextEncoder().encode(text)].map((b) => map.get(b)!);
}

/** Merges that join the bytes of `text` left to right into one token. */
function foldMerges(text: string): [string, string][] {
  const syms = symbolsOf(text);
  const out: [string, string][] = [];
  let acc = syms[0];
  for (const s of syms.slice(1)) {
    out.push([acc, s]);
    acc += s;
  }
  return out;
}

function buildMerges(): [string, string][] {
  const hand: [string, string][] = [
    ['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['i', 'n'], ['Ġ', 'a'], ['a', 't'], ['Ġ', 'h'], ['Ġh', 'at'],
    ['e', 'r'], ['Ġ', 'i'], ['Ġi', 'n'], ['o', 'u'], ['Ċ', 'Ċ'], ['Ġ', 'Ġ'], ['l', 'l'], ['H', 'e'], ['He', 'll'],
  ];
  // Whole UTF-8 characters as single tokens: 2-, 3- and 4-byte sequences.
  return [...hand, ...foldMerges('ï'), ...foldMerges('—'), ...foldMerges('数'), ...foldMerges('🙂'), ...foldMerges('12')];
}

interface Variant {
  name: string;
  added: string[]; // special added tokens, ids after the BPE vocab in this order
  llama: boolean;
}

function buildTokenizerJSON(v: Variant): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  for (const [i, e] of byteSymbols().entries()) vocab[e.sym] = i;
  const merges = buildMerges();
  for (const [a, b] of merges) {
    if (!(a in vocab) || !(b in vocab)) throw new Error(`merge ${a} ${b}: part not in vocab`);
    vocab[a + b] ??= Object.keys(vocab).length;
  }
  const base = Object.keys(vocab).length;
  const added = v.added.map((content, i) => ({
    id: base + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  const bosId = base + v.added.indexOf('<|begin_of_text|>');
  const postProcessor = v.llama
    ? {
        type: 'Sequence',
        processors: [
          { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
          {
            type: 'TemplateProcessing',
            single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
            pair: [
              { SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
              { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
            ],
            special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [bosId], tokens: ['<|begin_of_text|>'] } },
          },
        ],
      }
    : byteLevel;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: v.llama ? null : { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: v.llama ? LLAMA3_SPLIT : QWEN2_SPLIT }, behavior: 'Isolated', invert: false },
        byteLevel,
      ],
    },
    post_processor: postProcessor,
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: v.llama, vocab, merges,
    },
  };
}

function buildConfig(v: Variant, tok: Record<string, unknown>): Record<string, unknown> {
  const decoder: Record<string, unknown> = {};
  for (const { id, ...rest } of tok.added_tokens as { id: number }[]) decoder[String(id)] = rest;
  const common = { added_tokens_decoder: decoder, model_max_length: 2048, split_special_tokens: false };
  return v.llama
    ? {
        ...common, bos_token: '<|begin_of_text|>', eos_token: '<|endoftext|>', clean_up_tokenization_spaces: true,
        chat_template: '{{ "decoy: chat_template.jinja must win" }}', tokenizer_class: 'PreTrainedTokenizerFast',
      }
    : {
        ...common, add_prefix_space: false, bos_token: null, eos_token: '<|im_end|>', pad_token: '<|endoftext|>',
        unk_token: null, errors: 'replace', clean_up_tokenization_spaces: false, chat_template: CHATML,
        tokenizer_class: 'Qwen2Tokenizer',
      };
}

export const VARIANTS: Variant[] = [
  { name: 'qwen-like', added: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'], llama: false },
  { name: 'llama-like', added: ['<|begin_of_text|>', '<|endoftext|>', '<|im_start|>', '<|im_end|>'], llama: true },
];

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const v of VARIANTS) {
    const dir = join(here, v.name);
    mkdirSync(dir, { recursive: true });
    const tok = buildTokenizerJSON(v);
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tok, null, 1) + '\n');
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(buildConfig(v, tok), null, 2) + '\n');
    if (v.llama) writeFileSync(join(dir, 'chat_template.jinja'), LLAMA_JINJA);
    console.log(`wrote ${dir}`);
  }
}
