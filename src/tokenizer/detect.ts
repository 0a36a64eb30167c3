// Special-token detection from llama_vocab::impl::load in llama.cpp's src/llama-vocab.cpp: unset EOT/EOM/FIM
// slots filled from well-known token texts, the end-of-generation (EOG) set, and per-model attribute fixes.
import type { Metadata } from '../gguf/reader.js';
import { Attr, type Slot, type SpecialIds } from './attrs.js';

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

/**
 * Fills unset EOT/EOM/FIM slots from well-known token texts and builds the EOG set. llama.cpp walks an
 * unordered_map here, so when several texts qualify for one slot its pick is unspecified; we take the first
 * text in list order (so Phi-3 gets <|end|> rather than <|endoftext|>, Qwen <|im_end|>).
 */
export function detectSpecials(
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
  for (const t of EOG_TEXTS) {
    const id = ids.get(t);
    if (id !== undefined) {
      eog.add(id);
      forceControl(id);
    }
  }
  // gpt-oss: these structural tokens are always rendered.
  for (const t of ['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>']) {
    const id = ids.get(t);
    if (id !== undefined) attrs[id] = Attr.USER_DEFINED;
  }
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
export function applyNameQuirks(
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
