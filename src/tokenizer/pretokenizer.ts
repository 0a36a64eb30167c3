// Byte-level BPE pre-tokenizers, selected by `tokenizer.ggml.pre`. Mirrors llm_tokenizer_bpe's regex lists
// in llama.cpp's src/llama-vocab.cpp and unicode_regex_split in src/unicode.cpp: the regexes are applied in
// sequence, each one splitting every piece left by the previous one into its matches and the unmatched gaps
// between them (both are kept). llama.cpp evaluates `\s` as its own whitespace set, so `\s` is spelled out as
// WS here; \p{L}, \p{N} and \p{P} are JS unicode property escapes.
import { quoted } from '../text/safe.js';
import { TokenizerError } from './errors.js';
import { WS } from './unicode.js';

const S = `[${WS}]`;
const NOT_S = `[^${WS}]`;

// GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S) — llama.cpp's custom splitter
// (unicode_regex_split_custom_gpt2) also takes a lone \s+ as one piece, which the gap rule gives here too.
const GPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|${S}+(?!${NOT_S})`;
const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const tail = `| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|${S}*[\\r\\n]+|${S}+(?!${NOT_S})|${S}+`;
const LLAMA3 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}${tail}`;
const QWEN2 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}${tail}`;

// deepseek-llm's explicit letter ranges, transcribed code point by code point from llama-vocab.cpp.
const DEEPSEEK_LETTERS =
  'A-Za-z\\u{B5}\\u{C0}-\\u{D6}\\u{D8}-\\u{F6}\\u{F8}-\\u{1BA}\\u{1BC}-\\u{1BF}\\u{1C4}-\\u{293}\\u{295}-\\u{2AF}' +
  '\\u{370}-\\u{373}\\u{376}\\u{377}\\u{37B}-\\u{37D}\\u{37F}\\u{386}\\u{388}-\\u{38A}\\u{38C}\\u{38E}-\\u{3A1}' +
  '\\u{3A3}-\\u{3F5}\\u{3F7}-\\u{481}\\u{48A}-\\u{52F}\\u{531}-\\u{556}\\u{10A0}-\\u{10C5}\\u{13A0}-\\u{13F5}' +
  '\\u{13F8}-\\u{13FD}\\u{1C90}-\\u{1CBA}\\u{1CBD}-\\u{1CBF}\\u{1D00}-\\u{1D2B}\\u{1D6B}-\\u{1D77}\\u{1D79}-\\u{1D9A}' +
  '\\u{1E00}-\\u{1F15}\\u{1F18}-\\u{1F1D}\\u{1F20}-\\u{1F45}\\u{1F48}-\\u{1F4D}\\u{1F50}-\\u{1F57}\\u{1F59}' +
  '\\u{1F5B}\\u{1F5D}\\u{1F5F}-\\u{1F7D}\\u{1F80}-\\u{1FB4}\\u{1FB6}-\\u{1FBC}\\u{1FBE}\\u{1FC2}-\\u{1FC4}' +
  '\\u{1FC6}-\\u{1FCC}\\u{1FD0}-\\u{1FD3}\\u{1FD6}-\\u{1FDB}\\u{1FE0}-\\u{1FEC}\\u{1FF2}-\\u{1FF4}\\u{1FF6}-\\u{1FFC}' +
  '\\u{2102}\\u{2107}\\u{210A}-\\u{2113}\\u{2115}\\u{2119}-\\u{211D}\\u{2124}\\u{2126}\\u{2128}\\u{212A}-\\u{212D}' +
  '\\u{212F}-\\u{2134}\\u{2139}\\u{213C}-\\u{213F}\\u{2145}-\\u{2149}\\u{214E}\\u{2183}\\u{2184}\\u{2C00}-\\u{2C7B}' +
  '\\u{2C7E}-\\u{2CE4}\\u{2CEB}-\\u{2CEE}\\u{2CF2}\\u{2CF3}\\u{A640}-\\u{A66D}\\u{A680}-\\u{A69B}\\u{A722}-\\u{A76F}' +
  '\\u{A771}-\\u{A787}\\u{A78B}-\\u{A78E}\\u{AB70}-\\u{ABBF}\\u{FB00}-\\u{FB06}\\u{FB13}-\\u{FB17}\\u{FF21}-\\u{FF3A}' +
  '\\u{FF41}-\\u{FF5A}\\u{10400}-\\u{1044F}\\u{104B0}-\\u{104D3}\\u{104D8}-\\u{104FB}\\u{10C80}-\\u{10CB2}' +
  '\\u{10CC0}-\\u{10CF2}\\u{118A0}-\\u{118DF}\\u{1E900}-\\u{1E943}';
const CJK = '[\\u{4E00}-\\u{9FA5}\\u{800}-\\u{4E00}\\u{AC00}-\\u{D7FF}]+';

const DEFAULT = [`[\\p{P}\\$\\+<=>\\^~\\|]+`, GPT2, '\\p{N}+', '[0-9][0-9][0-9]'];

/** One pre-tokenizer: its regex sequence and the vocab flags llama.cpp ties to it. */
export interface PreTokenizerSpec {
  readonly regexes: readonly string[];
  /** Look a whole pre-token up in the vocab before merging (llama.cpp `ignore_merges`). */
  readonly ignoreMerges: boolean;
  /** Default for add_bos before `tokenizer.ggml.add_bos_token` overrides it. */
  readonly addBos: boolean;
}

const spec = (regexes: readonly string[], ignoreMerges = false, addBos = false): PreTokenizerSpec => ({
  regexes,
  ignoreMerges,
  addBos,
});

const LLAMA3_SPEC = spec([LLAMA3], true, true);
const GPT2_SPEC = spec([GPT2]);
const STARCODER_SPEC = spec(['\\p{N}', GPT2]);
const QWEN2_SPEC = spec([QWEN2]);

/** `tokenizer.ggml.pre` names, grouped as in llama_vocab::impl::load. */
const PRE_TOKENIZERS: Readonly<Record<string, PreTokenizerSpec>> = {
  default: spec(DEFAULT),
  llama3: LLAMA3_SPEC,
  'llama-v3': LLAMA3_SPEC,
  'llama-bpe': LLAMA3_SPEC,
  falcon3: LLAMA3_SPEC,
  pixtral: LLAMA3_SPEC,
  dbrx: spec([LLAMA3]),
  'smaug-bpe': spec([LLAMA3]),
  'deepseek-llm': spec([
    '[\\r\\n]',
    `${S}?[${DEEPSEEK_LETTERS}]+`,
    `${S}?[!-/:-~\\u{FF01}-\\u{FF0F}\\u{FF1A}-\\u{FF5E}\\u{2018}-\\u{201F}\\u{3000}-\\u{3002}]+`,
    `${S}+$`,
    CJK,
    '\\p{N}+',
  ]),
  'deepseek-coder': spec(['[\\r\\n]', `${S}?\\p{L}+`, `${S}?\\p{P}+`, CJK, '\\p{N}']),
  falcon: spec(['[\\p{P}\\$\\+<=>\\^~\\|`]+', GPT2, '[0-9][0-9][0-9]']),
  starcoder: STARCODER_SPEC,
  refact: STARCODER_SPEC,
  'command-r': STARCODER_SPEC,
  smollm: STARCODER_SPEC,
  codeshell: STARCODER_SPEC,
  exaone: STARCODER_SPEC,
  'minerva-7b': STARCODER_SPEC,
  'gpt-2': GPT2_SPEC,
  'phi-2': GPT2_SPEC,
  mpt: GPT2_SPEC,
  olmo: GPT2_SPEC,
  jais: GPT2_SPEC,
  qwen2: QWEN2_SPEC,
  'deepseek-r1-qwen': QWEN2_SPEC,
  megrez: QWEN2_SPEC,
  stablelm2: QWEN2_SPEC,
};

/**
 * Looks up a pre-tokenizer. Like llama.cpp, a missing name means "default"; an unknown one is an error rather
 * than a silent fallback, because a wrong split changes the token ids the model sees.
 */
export function preTokenizerSpec(name: string | undefined): PreTokenizerSpec {
  const key = name ?? 'default';
  if (!Object.hasOwn(PRE_TOKENIZERS, key)) {
    throw new TokenizerError(
      `unsupported pre-tokenizer ${quoted(key)} (tokenizer.ggml.pre); supported: ${Object.keys(PRE_TOKENIZERS).join(', ')}`,
    );
  }
  return PRE_TOKENIZERS[key];
}

/** Splits text into pre-tokens with a compiled regex sequence. */
export class PreTokenizer {
  private readonly regexes: readonly RegExp[];

  constructor(sources: readonly string[]) {
    this.regexes = sources.map((s) => new RegExp(s, 'gu'));
  }

  split(text: string): string[] {
    let pieces = text.length > 0 ? [text] : [];
    for (const re of this.regexes) {
      const next: string[] = [];
      for (const piece of pieces) splitOne(re, piece, next);
      pieces = next;
    }
    return pieces;
  }
}

/** unicode_regex_split_stl: every match and every non-empty gap between matches becomes a piece. */
function splitOne(re: RegExp, text: string, out: string[]): void {
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const start = m.index;
    const end = start + m[0].length;
    if (end === start) {
      re.lastIndex++; // an empty match would loop forever; none of the regexes above can produce one
      continue;
    }
    if (start > last) out.push(text.slice(last, start));
    out.push(text.slice(start, end));
    last = end;
  }
  if (last < text.length) out.push(text.slice(last));
}
