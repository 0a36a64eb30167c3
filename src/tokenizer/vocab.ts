// Vocabulary loaded from GGUF metadata, following llama_vocab::impl::load in llama.cpp's src/llama-vocab.cpp:
// token attributes from token_type, model-type defaults for the special ids and add_bos/add_eos, merges, and
// the special-token cache used for partitioning.
import type { Metadata } from '../gguf/reader.js';
import { quoted } from '../text/safe.js';
import { Attr, type Slot, type SpecialIds, TYPE_TO_ATTR } from './attrs.js';
import { applyNameQuirks, detectSpecials } from './detect.js';
import { TokenizerError } from './errors.js';
import { type PreTokenizerSpec, preTokenizerSpec } from './pretokenizer.js';

export type VocabKind = 'spm' | 'bpe';

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

export function loadVocab(md: Metadata): Vocab {
  const model = md.string(`${KEY}model`);
  if (model !== 'llama' && model !== 'gpt2') {
    throw new TokenizerError(
      `unsupported tokenizer model ${quoted(model)} (${KEY}model); supported: llama (SentencePiece), gpt2 (BPE)`,
    );
  }
  const kind: VocabKind = model === 'llama' ? 'spm' : 'bpe';
  const tokens = md.strings(`${KEY}tokens`);
  if (tokens === undefined || tokens.length === 0)
    throw new TokenizerError(`missing or empty metadata "${KEY}tokens"`);
  const n = tokens.length;

  const scores = new Float64Array(n);
  const rawScores = md.numbers(`${KEY}scores`);
  if (rawScores !== undefined) {
    if (rawScores.length < n)
      throw new TokenizerError(`"${KEY}scores" has ${rawScores.length} entries for ${n} tokens`);
    for (let i = 0; i < n; i++) scores[i] = rawScores[i];
  }
  const attrs = new Uint16Array(n).fill(Attr.NORMAL);
  const types = md.numbers(`${KEY}token_type`);
  if (types !== undefined) {
    if (types.length < n)
      throw new TokenizerError(`"${KEY}token_type" has ${types.length} entries for ${n} tokens`);
    for (let i = 0; i < n; i++) attrs[i] = TYPE_TO_ATTR[types[i]] ?? 0;
  }

  const texts = tokens.map((t, i) => (t === '' ? `[EMPTY_${i}]` : t));
  const ids = new Map<string, number>();
  texts.forEach((t, i) => {
    const prev = ids.get(t);
    if (prev !== undefined)
      throw new TokenizerError(`duplicate token ${quoted(t)} in "${KEY}tokens" (ids ${prev} and ${i})`);
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
    throw new TokenizerError(`${KEY}add_bos_token is true, but ${KEY}bos_token_id is not set`);
  if (addEos && special.eos === undefined)
    throw new TokenizerError(`${KEY}add_eos_token is true, but ${KEY}eos_token_id is not set`);

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
  if (list === undefined)
    throw new TokenizerError(`missing metadata "${KEY}merges" (required for BPE vocabularies)`);
  const merges = new Map<string, number>();
  list.forEach((m, rank) => {
    // llama.cpp splits at the first space after the first byte.
    const sp = m.indexOf(' ', 1);
    if (sp < 0) throw new TokenizerError(`"${KEY}merges"[${rank}] = ${quoted(m)} is not a "left right" pair`);
    const left = m.slice(0, sp);
    const right = m.slice(sp + 1);
    if (!ids.has(left) || !ids.has(right)) {
      const missing = ids.has(left) ? right : left;
      throw new TokenizerError(
        `"${KEY}merges"[${rank}] = ${quoted(m)} references unknown token ${quoted(missing)}`,
      );
    }
    if (!merges.has(m)) merges.set(m, rank);
  });
  return merges;
}
