// Passkey retrieval (Mohtashami & Jaggi 2023), in the wording LagKV and llama.cpp's passkey example use:
// a key hidden at a chosen depth inside repeated filler, then asked for at the end.
import { Rng } from '../../generate/sampler.js';

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
export const PASSKEY_QUESTION = 'What is the pass key? The pass key is';

export interface TokenCounter {
  encode(text: string, opts?: { addSpecial?: boolean }): number[];
}

export interface PasskeyOptions {
  /** Prompt length in the model's tokens (the result lands within ±1% or ±8 tokens). */
  tokens: number;
  /** Where the needle goes: 0 = start of the haystack, 1 = end. */
  depth: number;
  /** Digits in the key (5, 16, 32, 64 in the papers). */
  digits: number;
  seed: number;
}

export interface PasskeySample {
  prompt: string;
  /** The key; scored by exact match of the first number in the answer. */
  answer: string;
  tokens: number;
  depth: number;
}

export function randomDigits(rng: Rng, n: number): string {
  let s = String(1 + Math.floor(rng.next() * 9));
  while (s.length < n) s += String(Math.floor(rng.next() * 10));
  return s;
}

function build(key: string, sentences: number, depth: number): string {
  const filler: string[] = [];
  for (let i = 0; i < sentences; i++) filler.push(PASSKEY_FILLER[i % PASSKEY_FILLER.length]);
  const at = Math.round(depth * sentences);
  const needle = `The pass key is ${key}. Remember it. ${key} is the pass key.`;
  const hay = [...filler.slice(0, at), needle, ...filler.slice(at)];
  return `${PASSKEY_INTRO} ${hay.join(' ')}\n${PASSKEY_QUESTION}`;
}

/** Builds a prompt of about `tokens` tokens by searching the number of filler sentences. */
export function passkeySample(tok: TokenCounter, o: PasskeyOptions): PasskeySample {
  if (!(o.depth >= 0 && o.depth <= 1)) throw new RangeError(`depth must be in [0, 1], got ${o.depth}`);
  if (!Number.isInteger(o.digits) || o.digits < 1 || o.digits > 1000)
    throw new RangeError(`digits must be 1..1000, got ${o.digits}`);
  const key = randomDigits(new Rng(o.seed), o.digits);
  const count = (n: number) => tok.encode(build(key, n, o.depth), { addSpecial: true }).length;
  const base = count(0);
  if (base > o.tokens)
    throw new RangeError(`a passkey prompt needs at least ${base} tokens, asked for ${o.tokens}`);
  const perSentence = Math.max(1, (count(50) - base) / 50);
  let n = Math.max(0, Math.round((o.tokens - base) / perSentence));
  // Walk to the sentence count whose length is closest to the target (lengths grow monotonically with n).
  let len = count(n);
  while (len > o.tokens && n > 0) len = count(--n);
  while (n < 1e7) {
    const next = count(n + 1);
    if (Math.abs(next - o.tokens) >= Math.abs(len - o.tokens)) break;
    n++;
    len = next;
  }
  return { prompt: build(key, n, o.depth), answer: key, tokens: len, depth: o.depth };
}

/** Exact match of the key with the first number in the model's answer. */
export function scorePasskey(output: string, answer: string): number {
  const m = output.match(/\d+/);
  return m !== null && m[0] === answer ? 1 : 0;
}
