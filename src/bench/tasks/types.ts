// The shape every benchmark task shares, so one runner can drive passkey, RULER, BABILong and LongBench alike.

/** What a generator needs from a tokenizer: `Tokenizer` satisfies it. */
export interface TokenCounter {
  encode(text: string, opts?: { addSpecial?: boolean }): number[];
  /** Only LongBench's middle truncation needs it (it cuts in tokens and decodes both halves). */
  decode?(ids: readonly number[], opts?: { skipSpecial?: boolean }): string;
}

export interface TaskSample {
  /** Stable for a (task, tokens, depth, seed) tuple. */
  id: string;
  /** Registry name, e.g. `niah_single_2`, `babilong:qa3`. */
  task: string;
  /** The document the question is about (haystack with its needles or facts), as the benchmark builds it. */
  context: string;
  /** The question alone, without the benchmark's framing. */
  question: string;
  /**
   * The prompt up to where the query begins. Query-aware compression prefills this, compresses, then feeds
   * `questionPart`. `prompt === contextPart + questionPart` always holds.
   */
  contextPart: string;
  /** The question in the benchmark's wording (with the whitespace before it), ending with `answerPrefix`. */
  questionPart: string;
  /** The full prompt in the benchmark's format (the text a base model is given). */
  prompt: string;
  /** Text the benchmark puts after the question to start the answer (RULER's answer_prefix); may be ''. */
  answerPrefix: string;
  /** Reference answers; what each scorer compares against. */
  answers: string[];
  /** Prompt length in the model's tokens: `encode(prompt, { addSpecial: true }).length`. */
  tokens: number;
  /** Where the needle sits, 0 (start of the haystack) .. 1 (end), for needle tasks. */
  depth?: number;
  /** Generation budget the benchmark uses (greedy). */
  maxNewTokens: number;
  meta?: Record<string, unknown>;
}

export interface GenerateOptions {
  /**
   * Target length in the model's tokens. The whole prompt for passkey and RULER tasks; the context (facts +
   * background text) for BABILong, whose 0k..128k labels count only that; LongBench's max_length (prompts
   * longer than it lose their middle).
   */
  tokens: number;
  /** Needle depth in [0, 1] for needle tasks; omitted = the benchmark's own random placement. */
  depth?: number;
  seed: number;
  /** LongBench: which row of the file (default: seed modulo the row count). */
  index?: number;
}

export type TaskFamily = 'passkey' | 'ruler' | 'babilong' | 'longbench';

export interface TaskGenerator {
  name: string;
  family: TaskFamily;
  description: string;
  /** Whether `depth` means anything for this task. */
  usesDepth: boolean;
  maxNewTokens: number;
  generate(tok: TokenCounter, o: GenerateOptions): TaskSample;
  /** Score in [0, 1] by the benchmark's own protocol. */
  score(output: string, sample: TaskSample): number;
}

export function checkOptions(o: GenerateOptions, minTokens = 1): void {
  if (!Number.isInteger(o.tokens) || o.tokens < minTokens)
    throw new RangeError(`tokens must be a whole number >= ${minTokens}, got ${o.tokens}`);
  if (o.depth !== undefined && !(o.depth >= 0 && o.depth <= 1))
    throw new RangeError(`depth must be in [0, 1], got ${o.depth}`);
  if (!Number.isInteger(o.seed)) throw new RangeError(`seed must be a whole number, got ${o.seed}`);
}

/** Prompt length as the model sees it (BOS included where the vocabulary adds one). */
export function countTokens(tok: TokenCounter, text: string): number {
  return tok.encode(text, { addSpecial: true }).length;
}

export interface SampleParts {
  task: string;
  id: string;
  context: string;
  question: string;
  contextPart: string;
  questionPart: string;
  answerPrefix: string;
  answers: string[];
  maxNewTokens: number;
  depth?: number;
  meta?: Record<string, unknown>;
}

/**
 * Joins the parts, checks the split invariant and counts the prompt's tokens (unless given). Whitespace at the
 * end of the context part moves to the question part: byte-level BPE splits a run like "\n\n" differently
 * when text follows it, so ending the context part on a visible character keeps its tokens a prefix of the
 * prompt's.
 */
export function makeSample(tok: TokenCounter, p: SampleParts, tokens?: number): TaskSample {
  if (!p.questionPart.endsWith(p.answerPrefix))
    throw new Error(`${p.task}: questionPart must end with answerPrefix`);
  const contextPart = p.contextPart.trimEnd();
  const questionPart = p.contextPart.slice(contextPart.length) + p.questionPart;
  const prompt = contextPart + questionPart;
  const s: TaskSample = {
    ...p,
    contextPart,
    questionPart,
    prompt,
    tokens: tokens ?? countTokens(tok, prompt),
  };
  if (p.depth === undefined) delete s.depth;
  if (p.meta === undefined) delete s.meta;
  return s;
}

export interface SplitTokens {
  /** Prefill these (BOS included where the vocabulary adds one), compress, then feed `question`. */
  context: number[];
  question: number[];
  /** Whether `context` is exactly `contextPart` tokenized alone (no token straddles the split). */
  exact: boolean;
}

/**
 * The prompt's tokens cut where `questionPart` begins. Always `context ++ question` = the whole prompt
 * tokenized at once, so the model sees the benchmark's prompt token for token; the cut is at the longest
 * common prefix of the prompt's tokens and `contextPart`'s (tokenizing `questionPart` alone would differ:
 * SentencePiece prefixes a space, BPE can merge across the join).
 */
export function splitTokens(tok: TokenCounter, s: TaskSample): SplitTokens {
  const full = tok.encode(s.prompt, { addSpecial: true });
  const ctx = tok.encode(s.contextPart, { addSpecial: true });
  let n = 0;
  while (n < ctx.length && n < full.length && ctx[n] === full[n]) n++;
  return { context: full.slice(0, n), question: full.slice(n), exact: n === ctx.length };
}
