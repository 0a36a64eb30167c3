// Sampling against hand-computed distributions, and the stop-string matcher's hold-back rule.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng, Sampler } from '../../src/generate/sampler.js';
import { StopMatcher } from '../../src/generate/stop.js';

/** Frequencies of each id over many draws. */
function histogram(s: Sampler, logits: number[], n = 20000): Map<number, number> {
  const h = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const id = s.sample(Float32Array.from(logits), []);
    h.set(id, (h.get(id) ?? 0) + 1 / n);
  }
  return h;
}

test('greedy picks the argmax; temperature 0 ignores the other options', () => {
  assert.equal(new Sampler().sample(Float32Array.from([0.1, 3, -1, 2.9]), []), 1);
  assert.equal(new Sampler({ temperature: 0, topK: 1, topP: 0.1 }).sample(Float32Array.from([5, 1]), []), 0);
});

test('temperature sampling follows softmax(logits / T)', () => {
  // logits ln(1), ln(2), ln(3), ln(4) at T = 1 ⇒ probabilities 0.1, 0.2, 0.3, 0.4.
  const h = histogram(new Sampler({ temperature: 1, seed: 1 }), [0, Math.log(2), Math.log(3), Math.log(4)]);
  for (const [i, p] of [0.1, 0.2, 0.3, 0.4].entries()) {
    assert.ok(Math.abs((h.get(i) ?? 0) - p) < 0.015, `p(${i}) = ${h.get(i)}`);
  }
  // At T = 0.5 the same logits give p ∝ i² ⇒ 1/30, 4/30, 9/30, 16/30.
  const h2 = histogram(new Sampler({ temperature: 0.5, seed: 2 }), [
    0,
    Math.log(2),
    Math.log(3),
    Math.log(4),
  ]);
  for (const [i, w] of [1, 4, 9, 16].entries()) assert.ok(Math.abs((h2.get(i) ?? 0) - w / 30) < 0.015);
});

test('top-k, top-p and min-p truncate before temperature', () => {
  const logits = [0, Math.log(2), Math.log(3), Math.log(4)]; // 0.1 0.2 0.3 0.4
  const k2 = histogram(new Sampler({ temperature: 1, topK: 2, seed: 3 }), logits);
  assert.deepEqual([...k2.keys()].sort(), [2, 3]); // renormalised 3/7, 4/7
  assert.ok(Math.abs((k2.get(3) ?? 0) - 4 / 7) < 0.015);
  // top-p 0.65: 0.4 + 0.3 = 0.7 ≥ 0.65 ⇒ {3, 2}.
  assert.deepEqual(
    [...histogram(new Sampler({ temperature: 1, topP: 0.65, seed: 4 }), logits).keys()].sort(),
    [2, 3],
  );
  // min-p 0.6: keep p ≥ 0.6 · 0.4 = 0.24 ⇒ {3, 2}; min-p 0.4 ⇒ p ≥ 0.16 ⇒ {3, 2, 1}.
  assert.deepEqual(
    [...histogram(new Sampler({ temperature: 1, minP: 0.6, seed: 5 }), logits).keys()].sort(),
    [2, 3],
  );
  assert.deepEqual(
    [...histogram(new Sampler({ temperature: 1, minP: 0.4, seed: 6 }), logits).keys()].sort(),
    [1, 2, 3],
  );
});

test('repetition penalty divides positive and multiplies negative logits of recent tokens (CTRL)', () => {
  const logits = Float32Array.from([2, 1.5, -1, 0.5]);
  // Token 0 was seen: 2 / 2 = 1 < 1.5 ⇒ greedy moves to token 1. Token 2 seen: −1 · 2 = −2.
  assert.equal(new Sampler({ repeatPenalty: 2 }).sample(logits, [0, 2]), 1);
  assert.deepEqual(Array.from(logits), [1, 1.5, -2, 0.5]);
  // Only the last repeatLastN tokens count.
  assert.equal(
    new Sampler({ repeatPenalty: 2, repeatLastN: 1 }).sample(Float32Array.from([2, 1.5]), [0, 1]),
    0,
  );
});

test('seeded sampling is reproducible and seeds differ', () => {
  const draw = (seed: number) => {
    const s = new Sampler({ temperature: 1, seed });
    return Array.from({ length: 32 }, () => s.sample(Float32Array.from([1, 1, 1, 1, 1, 1]), []));
  };
  assert.deepEqual(draw(7), draw(7));
  assert.notDeepEqual(draw(7), draw(8));
  const r = new Rng(1);
  for (let i = 0; i < 1000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
  }
});

test('bad sampling options are rejected by name', () => {
  assert.throws(() => new Sampler({ temperature: Number.NaN }), /temperature/);
  assert.throws(() => new Sampler({ topK: 1.5 }), /topK/);
  assert.throws(() => new Sampler({ minP: 1 }), /minP/);
  assert.throws(() => new Sampler({ repeatPenalty: 0 }), /repeatPenalty/);
});

test('stop strings: text that may start a stop string is held back, the stop string itself never shown', () => {
  const m = new StopMatcher(['</s>', 'END']);
  assert.equal(m.push('Hello <'), 'Hello ');
  assert.equal(m.push('/'), '');
  assert.equal(m.push('x'), '</x');
  assert.equal(m.push(' E'), ' ');
  assert.equal(m.push('NDING'), '');
  assert.ok(m.stopped);
  assert.equal(m.flush(), '');
  const n = new StopMatcher(['###']);
  assert.equal(n.push('a#'), 'a');
  assert.equal(n.flush(), '#');
  assert.throws(() => new StopMatcher(['']), /must not be empty/);
});
