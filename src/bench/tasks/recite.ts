// A long answer: the passkey prompt (Mohtashami & Jaggi 2023, as in passkey.ts) with a 64-digit key that the
// model must repeat back in full, so that what a press does while the answer is generated (compression while
// decoding) decides the score. The report plots the kept fraction over the generated tokens of these runs.
// Graded rather than all-or-nothing: the share of the key's digits reproduced before the first mistake, so a run
// that loses the key half way through its answer scores 0.5.
import { passkeyTask } from './passkey.js';
import type { TaskGenerator, TaskSample } from './types.js';

export function reciteTask(digits = 64): TaskGenerator {
  const inner = passkeyTask(digits);
  const name = digits === 64 ? 'recite' : `recite:${digits}`;
  return {
    ...inner,
    name,
    description: `repeat back a ${digits}-digit key hidden in filler (a long answer), graded by digits`,
    generate(tok, o): TaskSample {
      const s = inner.generate(tok, o);
      return { ...s, task: name, id: s.id.replace(inner.name, name) };
    },
    score: (output, sample) => scoreRecital(output, sample.answers[0]),
  };
}

/** Share of `key`'s digits that the first run of digits in `output` reproduces before its first mistake. */
export function scoreRecital(output: string, key: string): number {
  const got = /\d+/.exec(output)?.[0] ?? '';
  let n = 0;
  while (n < key.length && n < got.length && got[n] === key[n]) n++;
  return n / key.length;
}
