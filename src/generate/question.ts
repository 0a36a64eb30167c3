// Query-aware generation from a rendered prompt (a chat): the prompt is cut where the question starts, so that
// the part before it is compressed with the question in view and the rest (the question and whatever the chat
// template puts after it) is the probe, then fed uncompressed: what the benchmark does with its tasks'
// question parts (bench/tasks/types.ts splitTokens), and what LASER-KV's authors do with a chat-templated query.

export interface TokenSplit {
  /** The prompt's tokens up to the question: what the press compresses. */
  context: number[];
  /** The question and what follows it: the probe, then fed uncompressed. Never empty. */
  rest: number[];
}

/**
 * The tokens of `prompt` cut where the last occurrence of `question` starts (e.g. the newest user message in
 * a rendered chat). `context ++ rest` is always the whole prompt encoded at once, so the model reads it token
 * for token; the cut is the longest common prefix with the text before the question encoded alone (trailing
 * whitespace moved to the rest, as a byte-level BPE merges a run like "\n\n" differently when text follows).
 * Undefined when the question is empty or not found (a template that rewrote it), or nothing precedes it.
 */
export function splitAtQuestion(
  encode: (text: string) => number[],
  prompt: string,
  question: string,
): TokenSplit | undefined {
  if (question.trim() === '') return undefined;
  const at = prompt.lastIndexOf(question);
  const before = at < 0 ? '' : prompt.slice(0, at).trimEnd();
  if (before === '') return undefined;
  const full = encode(prompt);
  const head = encode(before);
  let n = 0;
  while (n < head.length && n < full.length - 1 && head[n] === full[n]) n++;
  if (n === 0) return undefined;
  return { context: full.slice(0, n), rest: full.slice(n) };
}
