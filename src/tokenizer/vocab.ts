// Vocabulary loaded from GGUF metadata, following llama_vocab::impl::load in llama.cpp's src/llama-vocab.cpp:
// token attributes from token_type, model-type defaults for the special ids and add_bos/add_eos, the
// text-based detection of EOT/EOM/FIM tokens, and the end-of-generation (EOG) set.
import type { Metadata } from '../gguf/reader.js';
import { type PreTokenizerSpec, preTokenizerSpec } from './pretokenizer.js';

/** Token attribute bits (llama_token_attr). */
export const Attr = {
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  LSTRIP: 1 << 7,
  RSTRIP: 1 << 8,
} as const;

/** GGUF token_type values 1..6 (llama_token_type) to attributes; anything else is "undefined" (0). */
const TYPE_TO_ATTR: readonly number[] = [
  0,
  Attr.NORMAL,
  Attr.UNKNOWN,
  Attr.CONTROL,
  Attr.USER_DEFINED,
  Attr.UNUSED,
  Attr.BYTE,
];

export type VocabKind = 'spm' | 'bpe';

export interface SpecialIds {
  bos?: number;
  eos?: number;
  eot?: number;
  eom?: number;
  unk?: number;
  pad?: number;
  fimPre?: number;
  fimSuf?: number;
  fimMid?: number;
  fimPad?: number;
  fimRep?: number;
  fimSep?: number;
}
type Slot = keyof SpecialIds;

export interface Vocab {
  readonly kind: VocabKind;
  readonly tokens: readonly string[];
  readonly scores: Float64Array;
  readonly attrs: Uint16Array;
  readonly ids: ReadonlyMap<string, number>;
  readonly special: Readonly<SpecialIds>;
  readonly eog: ReadonlySet<number>;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
  /** Control, user-defined and unknown tokens, longest text first (llama.cpp cache_special_tokens). */
  readonly specialTokens: readonly number[];
  /** BPE only: "left right" -> merge rank. */
  readonly merges: ReadonlyMap<string, number>;
  /** BPE only. */
  readonly pre?: PreTokenizerSpec;
}

const KEY = 'tokenizer.ggml.';

/** Where each special id is read from; the deprecated prefix/suffix/middle keys come last, as in llama.cpp. */
const SPECIAL_KEYS: readonly [Slot, string][] = [
  ['bos', 'bos_token_id'],
  ['eos', 'eos_token_id'],
  ['eot', 'eot_token_id'],
  ['eom', 'eom_token_id'],
  ['unk', 'unknown_token_id'],
  ['pad', 'padding_token_id'],
  ['fimPre', 'fim_pre_token_id'],
  ['fimSuf', 'fim_suf_token_id'],
  ['fimMid', 'fim_mid_token_id'],
  ['fimPad', 'fim_pad_token_id'],
  ['fimRep', 'fim_rep_token_id'],
  ['fimSep', 'fim_sep_token_id'],
  ['fimPre', 'prefix_token_id'],
  ['fimSuf', 'suffix_token_id'],
  ['fimMid', 'middle_token_id'],
];

/** Token texts that fill an unset special slot (and get forced to CONTROL), from llama_vocab::impl::load. */
const AUTO_DETECT: readonly [Slot, readonly string[]][] = [
  [
    'eot',
    [
      '<|eot_id|>',
      '<|im_end|>',
      '<|end|>',
      '<end_of_turn>',
      '<|endoftext|>',
      '<|end_of_text|>',
      '<EOT>',
      '_<EOT>',
      '[EOT]',
      '<｜end▁of▁sentence｜>',
      '<end_of_utterance>',
    ],
  ],
  ['eom', ['<|eom_id|>']],
  [
    'fimPre',
    [
      '<|fim_prefix|>',
      '<fim-prefix>',
      '<fim_prefix>',
      '<｜fim▁begin｜>',
      '<PRE>',
      '▁<PRE>',
      '<|code_prefix|>',
      '<|prefix|>',
    ],
  ],
  [
    'fimSuf',
    [
      '<|fim_suffix|>',
      '<fim-suffix>',
      '<fim_suffix>',
      '<｜fim▁hole｜>',
      '<SUF>',
      '▁<SUF>',
      '<|code_suffix|>',
      '<|suffix|>',
    ],
  ],
  [
    'fimMid',
    [
      '<|fim_middle|>',
      '<fim-middle>',
      '<fim_middle>',
      '<｜fim▁end｜>',
      '<MID>',
      '▁<MID>',
      '<|code_middle|>',
      '<|middle|>',
    ],
  ],
  ['fimPad', ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]']],
  ['fimRep', ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>']],
  ['fimSep', ['<|file_sep|>']],
];

/** Token texts that always end generation (llama.cpp's special_eog_ids text list). */
const EOG_TEXTS = new Set([
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<|return|>',
  '<|call|>',
  '<|flush|>',
  '<|calls|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '</s>',
  '<|eom_id|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '[EOS]',
  '<|end_of_text|>',
  '<end_of_utterance>',
  '<eos>',
  '<turn|>',
  '<|tool_response>',
  '<｜end▁of▁sentence｜>',
  '[e~[',
]);

export function loadVocab(md: Metadata): Vocab {
  const model = md.string(`${KEY}model`);
  if (model !== 'llama' && model !== 'gpt2') {
    throw new Error(
      `unsupported tokenizer model '${model}' (${KEY}model); supported: llama (SentencePiece), gpt2 (BPE)`,
    );
  }
  const kind: VocabKind = model === 'llama' ? 'spm' : 'bpe';
  const tokens = md.strings(`${KEY}tokens`);
  if (tokens === undefined || tokens.length === 0)
    throw new Error(`missing or empty metadata "${KEY}tokens"`);
  const n = tokens.length;

  const scores = new Float64Array(n);
  const rawScores = md.numbers(`${KEY}scores`);
  if (rawScores !== undefined) {
    if (rawScores.length < n)
      throw new Error(`"${KEY}scores" has ${rawScores.length} entries for ${n} tokens`);
    scores.set(rawScores.slice(0, n));
  }
  const attrs = new Uint16Array(n).fill(Attr.NORMAL);
  const types = md.numbers(`${KEY}token_type`);
  if (types !== undefined) {
    if (types.length < n) throw new Error(`"${KEY}token_type" has ${types.length} entries for ${n} tokens`);
    for (let i = 0; i < n; i++) attrs[i] = TYPE_TO_ATTR[types[i]] ?? 0;
  }

  const texts = tokens.map((t, i) => (t === '' ? `[EMPTY_${i}]` : t));
  const ids = new Map<string, number>();
  texts.forEach((t, i) => {
    const prev = ids.get(t);
    if (prev !== undefined)
      throw new Error(`duplicate token ${JSON.stringify(t)} in "${KEY}tokens" (ids ${prev} and ${i})`);
    ids.set(t, i);
  });

  const pre =
    kind === 'bpe' ? preTokenizerSpec(md.has(`${KEY}pre`) ? md.string(`${KEY}pre`) : undefined) : undefined;
  const merges = kind === 'bpe' ? loadMerges(md, ids) : new Map<string, number>();

  // Model-type defaults, then the ids from metadata (out-of-range values keep the default, as llama.cpp does).
  const special: SpecialIds = kind === 'spm' ? { bos: 1, eos: 2, unk: 0 } : { bos: 11, eos: 11 };
  for (const slot of Object.keys(special) as Slot[]) {
    if ((special[slot] ?? 0) >= n) delete special[slot];
  }
  for (const [slot, key] of SPECIAL_KEYS) {
    const id = md.has(KEY + key) ? md.number(KEY + key) : undefined;
    if (id !== undefined && Number.isInteger(id) && id >= 0 && id < n) special[slot] = id;
  }

  const addBos = md.bool(`${KEY}add_bos_token`, kind === 'spm' || (pre?.addBos ?? false));
  const addEos = md.bool(`${KEY}add_eos_token`, false);
  if (addBos && special.bos === undefined)
    throw new Error(`${KEY}add_bos_token is true, but ${KEY}bos_token_id is not set`);
  if (addEos && special.eos === undefined)
    throw new Error(`${KEY}add_eos_token is true, but ${KEY}eos_token_id is not set`);

  const eog = detectSpecials(texts, ids, attrs, special);
  applyNameQuirks(md, texts, ids, attrs);

  const specialTokens: number[] = [];
  for (let i = 0; i < n; i++) {
    if (attrs[i] & (Attr.CONTROL | Attr.USER_DEFINED | Attr.UNKNOWN)) specialTokens.push(i);
  }
  specialTokens.sort((a, b) => texts[b].length - texts[a].length || a - b);

  return {
    kind,
    tokens: texts,
    scores,
    attrs,
    ids,
    special,
    eog,
    addBos,
    addEos,
    addSpacePrefix: md.bool(`${KEY}add_space_prefix`, kind === 'spm'),
    specialTokens,
    merges,
    pre,
  };
}

/** Merges are "left right" pairs; the rank is the index. Both halves must be tokens of the vocabulary. */
function loadMerges(md: Metadata, ids: ReadonlyMap<string, number>): Map<string, number> {
  const list = md.strings(`${KEY}merges`);
  if (list === undefined) throw new Error(`missing metadata "${KEY}merges" (required for BPE vocabularies)`);
  const merges = new Map<string, number>();
  list.forEach((m, rank) => {
    // llama.cpp splits at the first space after the first byte.
    const sp = m.indexOf(' ', 1);
    if (sp < 0) throw new Error(`"${KEY}merges"[${rank}] = ${JSON.stringify(m)} is not a "left right" pair`);
    const left = m.slice(0, sp);
    const right = m.slice(sp + 1);
    if (!ids.has(left) || !ids.has(right)) {
      const missing = ids.has(left) ? right : left;
      throw new Error(
        `"${KEY}merges"[${rank}] = ${JSON.stringify(m)} references unknown token ${JSON.stringify(missing)}`,
      );
    }
    if (!merges.has(m)) merges.set(m, rank);
  });
  return merges;
}

/**
 * Fills unset EOT/EOM/FIM slots from well-known token texts and builds the EOG set. llama.cpp walks an
 * unordered_map here, so when several texts qualify for one slot its pick is unspecified; we take the first
 * text in list order (so Phi-3 gets <|end|> rather than <|endoftext|>, Qwen <|im_end|>).
 */
function detectSpecials(
  texts: readonly string[],
  ids: ReadonlyMap<string, number>,
  attrs: Uint16Array,
  special: SpecialIds,
): Set<number> {
  const forceControl = (id: number) => {
    attrs[id] |= Attr.CONTROL;
  };
  for (const [slot, names] of AUTO_DETECT) {
    if (special[slot] !== undefined) continue;
    const id = names.map((t) => ids.get(t)).find((i) => i !== undefined);
    if (id !== undefined) {
      special[slot] = id;
      forceControl(id);
    }
  }

  const eog = new Set<number>();
  for (const slot of ['fimPad', 'fimRep', 'fimSep'] as const) {
    const id = special[slot];
    if (id !== undefined) eog.add(id);
  }
  texts.forEach((t, id) => {
    if (EOG_TEXTS.has(t)) {
      eog.add(id);
      forceControl(id);
    }
  });
  // gpt-oss: these structural tokens are always rendered.
  texts.forEach((t, id) => {
    if (t === '<|channel|>' || t === '<|message|>' || t === '<|start|>' || t === '<|constrain|>') {
      attrs[id] = Attr.USER_DEFINED;
    }
  });
  for (const slot of ['eos', 'eot', 'eom'] as const) {
    const id = special[slot];
    if (id !== undefined) eog.add(id);
  }

  // o200k_harmony / solar-open: "<|end|>" ends a message, not the generation.
  const has = (t: string) => [...eog].some((id) => texts[id] === t);
  const endId = [...eog].find((id) => texts[id] === '<|end|>');
  const hasCall = has('<|call|>') || has('<|calls|>');
  if (endId !== undefined && hasCall && (has('<|return|>') || has('<|flush|>'))) {
    eog.delete(endId);
    attrs[endId] = Attr.USER_DEFINED;
  }
  // gemma4 / paddleocr: "</s>" is not EOG when "<|tool_response>" is.
  const sId = [...eog].find((id) => texts[id] === '</s>');
  if (sId !== undefined && has('<|tool_response>')) {
    eog.delete(sId);
    attrs[sId] = Attr.NORMAL;
  }
  return eog;
}

/** Per-model attribute fixes keyed on general.name (the phi-3 branch of llama.cpp's attribute handling). */
function applyNameQuirks(
  md: Metadata,
  texts: readonly string[],
  ids: ReadonlyMap<string, number>,
  attrs: Uint16Array,
) {
  const name = md.has('general.name') ? md.string('general.name').toLowerCase() : '';
  if (!name.includes('phi-3') && !name.includes('phi3')) return;
  // Phi-3's added tokens swallow the whitespace that follows them.
  for (let i = 0; i < texts.length; i++) {
    if (attrs[i] & (Attr.CONTROL | Attr.USER_DEFINED | Attr.UNKNOWN)) attrs[i] |= Attr.RSTRIP;
  }
  const set = (t: string, on: boolean) => {
    const id = ids.get(t);
    if (id !== undefined) attrs[id] = on ? attrs[id] | Attr.RSTRIP : attrs[id] & ~Attr.RSTRIP;
  };
  set('</s>', true);
  for (const t of ['<unk>', '<s>', '<|endoftext|>']) set(t, false);
}
