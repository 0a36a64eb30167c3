// Passkey retrieval (Mohtashami & Jaggi 2023, landmark-attention's run_test.py; the format LagKV and
// llama.cpp's passkey example use): the task line, filler, the key line, more filler, the question, one per
// line. The original cuts its filler at a character count; here the last filler sentence of each side is cut
// at a word so the prompt lands on the requested token count.
import { scorePasskey } from '../score/passkey.js';
import { fillUnits, fitLength } from '../text/fill.js';
import { Rng, randomDigits } from '../text/random.js';
import {
  checkOptions,
  countTokens,
  type GenerateOptions,
  makeSample,
  type TaskGenerator,
  type TaskSample,
  type TokenCounter,
} from './types.js';

export type { TokenCounter } from './types.js';
export { randomDigits, scorePasskey };

export const PASSKEY_INTRO =
  'There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. ' +
  'I will quiz you about the important information there.';
export const PASSKEY_FILLER = [
  'The grass is green.',
  'The sky is blue.',
  'The sun is yellow.',
  'Here we go.',
  'There and back again.',
];
export const PASSKEY_QUESTION = 'What is the pass key?';
export const PASSKEY_ANSWER_PREFIX = ' The pass key is';

export function passkeyNeedle(key: string): string {
  return `The pass key is ${key}. Remember it. ${key} is the pass key.`;
}

const filler = (i: number) => PASSKEY_FILLER[i % PASSKEY_FILLER.length];

export function passkeyTask(digits = 5): TaskGenerator {
  if (!Number.isInteger(digits) || digits < 1 || digits > 1000)
    throw new RangeError(`passkey digits must be 1..1000, got ${digits}`);
  const name = digits === 5 ? 'passkey' : `passkey:${digits}`;
  const maxNewTokens = digits + 10;
  return {
    name,
    family: 'passkey',
    description: `passkey retrieval, ${digits}-digit key in repeated filler`,
    usesDepth: true,
    maxNewTokens,
    generate(tok: TokenCounter, o: GenerateOptions): TaskSample {
      checkOptions(o);
      const rng = new Rng(o.seed);
      const key = randomDigits(rng, digits);
      const depth = o.depth ?? rng.next();
      const needle = passkeyNeedle(key);
      const questionPart = PASSKEY_QUESTION + PASSKEY_ANSWER_PREFIX;
      const contextOf = (prefix: string, suffix: string) =>
        [PASSKEY_INTRO, prefix, needle, suffix, ''].join('\n');
      const base = countTokens(tok, contextOf('', '') + questionPart);
      if (base > o.tokens)
        throw new RangeError(`a ${name} prompt needs at least ${base} tokens, asked for ${o.tokens}`);
      const build = (budget: number) => {
        const pre = fillUnits(tok, filler, ' ', Math.round(depth * budget));
        const post = fillUnits(tok, filler, ' ', budget - pre.cost);
        const total = pre.cost + post.cost;
        return {
          prefix: pre.units.join(' '),
          suffix: post.units.join(' '),
          depth: total === 0 ? depth : pre.cost / total,
        };
      };
      const fit = fitLength(o.tokens, o.tokens - base, build, (v) =>
        countTokens(tok, contextOf(v.prefix, v.suffix) + questionPart),
      );
      const { prefix, suffix } = fit.value;
      return makeSample(
        tok,
        {
          task: name,
          id: `${name}/${o.tokens}/${o.depth ?? 'r'}/${o.seed}`,
          context: [prefix, needle, suffix].join('\n').trimEnd(),
          question: PASSKEY_QUESTION,
          contextPart: contextOf(prefix, suffix),
          questionPart,
          answerPrefix: PASSKEY_ANSWER_PREFIX,
          answers: [key],
          maxNewTokens,
          depth: fit.value.depth,
          meta: { digits, needle },
        },
        fit.measured,
      );
    },
    score: (output, sample) => scorePasskey(output, sample.answers[0]),
  };
}

export interface PasskeyOptions {
  /** Prompt length in the model's tokens (lands within ±1%). */
  tokens: number;
  /** Where the needle goes: 0 = start of the filler, 1 = end. */
  depth: number;
  /** Digits in the key (5, 16, 32, 64 in the papers). */
  digits: number;
  seed: number;
}

/** One passkey sample; `answer` is the key (the same as `answers[0]`). */
export function passkeySample(tok: TokenCounter, o: PasskeyOptions): TaskSample & { answer: string } {
  const s = passkeyTask(o.digits).generate(tok, { tokens: o.tokens, depth: o.depth, seed: o.seed });
  return { ...s, answer: s.answers[0] };
}
