// Scorers against hand-made cases, including each protocol's edge cases.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BABILONG_LABELS, compareAnswers } from '../../src/bench/score/babilong.js';
import { classificationScore } from '../../src/bench/score/classification.js';
import { codeSimScore, fuzzRatio } from '../../src/bench/score/code-sim.js';
import { countScore } from '../../src/bench/score/count.js';
import { scorePasskey } from '../../src/bench/score/passkey.js';
import { normalizeAnswer, qaF1 } from '../../src/bench/score/qa-f1.js';
import { retrievalScore, retrievalZhScore } from '../../src/bench/score/retrieval.js';
import { rougeL } from '../../src/bench/score/rouge.js';
import { rulerPostprocess, stringMatchAll, stringMatchPart } from '../../src/bench/score/string-match.js';

const near = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('passkey: the first number, compared as an integer', () => {
  assert.equal(scorePasskey('The pass key is 12345. Remember it.', '12345'), 1);
  assert.equal(scorePasskey(' 12345 or 54321', '12345'), 1);
  assert.equal(scorePasskey('54321, no wait, 12345', '12345'), 0);
  assert.equal(scorePasskey('', '12345'), 0);
  assert.equal(scorePasskey('no digits here', '12345'), 0);
  assert.equal(scorePasskey('012345', '12345'), 1);
  assert.equal(scorePasskey('123456', '12345'), 0);
  assert.equal(scorePasskey('1234 5', '12345'), 0);
  const long = '1234567890123456789012345678901234567890123456789012345678901234';
  assert.equal(scorePasskey(`${long}.`, long), 1);
  assert.equal(scorePasskey(`${long.slice(0, 63)}0`, long), 0);
});

test('RULER string_match_all / string_match_part', () => {
  assert.equal(stringMatchAll('ABC and def', ['abc', 'DEF']), 1);
  assert.equal(stringMatchAll('only abc here', ['abc', 'def']), 0.5);
  assert.equal(stringMatchAll('', ['abc']), 0);
  assert.equal(stringMatchAll('anything', []), 0);
  // Substring match: a longer number containing the reference counts, as upstream.
  assert.equal(stringMatchAll('1234567890', ['4567']), 1);
  assert.equal(stringMatchPart('x def y', ['abc', 'def']), 1);
  assert.equal(stringMatchPart('neither', ['abc', 'def']), 0);
  assert.equal(rulerPostprocess('  a\u0000b\tc \n'), 'a\nb\nc');
});

test('BABILong compare_answers: first sentence, one label, question labels ignored', () => {
  const qa1 = BABILONG_LABELS.qa1;
  assert.ok(compareAnswers('kitchen', 'The most recent location of Mary is kitchen.', 'Where is Mary?', qa1));
  assert.ok(compareAnswers('kitchen', 'KITCHEN', 'Where is Mary?', qa1));
  // Only the first sentence counts.
  assert.ok(compareAnswers('kitchen', 'kitchen. Before that she was in the garden.', 'Where is Mary?', qa1));
  assert.ok(!compareAnswers('kitchen', 'She was in the garden. Now kitchen.', 'Where is Mary?', qa1));
  // Another label in the answer makes it wrong.
  assert.ok(!compareAnswers('kitchen', 'Mary is in the kitchen or the garden', 'Where is Mary?', qa1));
  assert.ok(!compareAnswers('kitchen', '', 'Where is Mary?', qa1));
  // Labels named in the question are never the answer, so repeating them is harmless.
  assert.ok(compareAnswers('bedroom', 'bedroom, not the kitchen', 'What is the kitchen south of?', qa1));
  // Example echoes are cut off.
  assert.ok(compareAnswers('kitchen', 'kitchen<example>garden', 'Where is Mary?', qa1));
  // qa5 labels are capitalised upstream; matching is case-insensitive.
  assert.ok(compareAnswers('Fred', 'fred', 'Who did Mary give the apple to?', BABILONG_LABELS.qa5));
  // Substring matching, as upstream: a correct "none" also contains "one" and fails; wholeWords fixes it.
  assert.ok(!compareAnswers('none', 'none', 'How many objects is Mary carrying?', BABILONG_LABELS.qa7));
  assert.ok(
    compareAnswers('none', 'none', 'How many objects is Mary carrying?', BABILONG_LABELS.qa7, {
      wholeWords: true,
    }),
  );
  assert.ok(compareAnswers('one', 'one', 'How many objects is Mary carrying?', BABILONG_LABELS.qa7));
  // qa8 lists need every item and nothing else.
  const qa8 = BABILONG_LABELS.qa8;
  assert.ok(compareAnswers('apple,milk', 'apple, milk', 'What is Daniel carrying?', qa8));
  assert.ok(!compareAnswers('apple,milk', 'apple', 'What is Daniel carrying?', qa8));
  assert.ok(!compareAnswers('apple,milk', 'apple, milk, football', 'What is Daniel carrying?', qa8));
  assert.ok(compareAnswers('nothing', 'nothing', 'What is Daniel carrying?', qa8));
  // The upstream split on 'Question' runs after lower-casing and never cuts.
  assert.ok(!compareAnswers('yes', 'yes Question: no', 'Is Mary in the office?', BABILONG_LABELS.qa6));
});

test('LongBench qa_f1 with normalize_answer', () => {
  assert.equal(normalizeAnswer('The Eiffel  Tower!'), 'eiffel tower');
  assert.equal(normalizeAnswer('U.S.A.'), 'usa');
  assert.equal(normalizeAnswer('theater an'), 'theater');
  assert.equal(qaF1('the Eiffel tower', 'Eiffel Tower'), 1);
  near(qaF1('an apple a day', 'apple'), 2 / 3);
  near(qaF1('The answer is Paris.', 'Paris'), 0.5);
  assert.equal(qaF1('', 'Paris'), 0);
  assert.equal(qaF1('London', 'Paris'), 0);
  // Multiset overlap: a repeated word counts as often as it appears in both.
  near(qaF1('paris paris', 'paris'), 2 / 3);
});

test('LongBench rouge_score: ROUGE-L F of the rouge package', () => {
  near(rougeL('the cat sat on the mat', 'the cat lay on the mat'), 0.8);
  // Summary level: each reference sentence's union LCS over all prediction sentences, so order across
  // sentences does not matter.
  near(rougeL('a b. c d', 'a c. b d'), 1);
  // Distinct words: m, n and the hits count each word once.
  near(rougeL('the the the', 'the cat'), 2 / 3);
  assert.equal(rougeL('', 'the cat'), 0);
  assert.equal(rougeL('...', 'the cat'), 0);
  assert.equal(rougeL('the cat', ''), 0);
  assert.equal(rougeL('dog', 'the cat'), 0);
});

test('LongBench classification_score, including the skip-after-remove quirk', () => {
  const classes = ['Human', 'Human being', 'Location'];
  assert.equal(classificationScore('Human being', 'Human being', classes), 1);
  assert.equal(classificationScore('Location', 'Human being', classes), 0);
  assert.equal(classificationScore('nothing matches', 'Human being', classes), 0);
  assert.equal(classificationScore('Human being or Location', 'Human being', classes), 0.5);
  // 'A' is removed (part of 'ABC'), so upstream's loop skips 'AB', which stays: 1/3, not 1/2.
  assert.equal(classificationScore('ABC X', 'ABC', ['A', 'AB', 'ABC', 'X']), 1 / 3);
  // Case-sensitive.
  assert.equal(classificationScore('location', 'Location', classes), 0);
});

test('LongBench retrieval and count scores', () => {
  assert.equal(retrievalScore('Paragraph 12', 'Paragraph 12'), 1);
  assert.equal(retrievalScore('Paragraph 12 or Paragraph 3', 'Paragraph 12'), 0.5);
  assert.equal(retrievalScore('I do not know', 'Paragraph 12'), 0);
  assert.equal(retrievalScore('Paragraph 1', 'Paragraph 12'), 0);
  assert.equal(retrievalZhScore('段落5', '段落5'), 1);
  assert.equal(countScore('7', '7'), 1);
  assert.equal(countScore('There are 7 unique paragraphs out of 10', '7'), 0.5);
  assert.equal(countScore('', '7'), 0);
  assert.equal(countScore('07', '7'), 0);
});

test('fuzz.ratio (Levenshtein, substitution = 2) and code_sim_score', () => {
  assert.equal(fuzzRatio('abc', 'abc'), 100);
  assert.equal(fuzzRatio('', ''), 100);
  assert.equal(fuzzRatio('abc', ''), 0);
  assert.equal(fuzzRatio('kitten', 'sitting'), 62); // LCS "ittn": (13 - 5) / 13
  // Halves round to even, as Python's round: 12.5 → 12, 37.5 → 38.
  assert.equal(fuzzRatio('abcdefgh', 'aijklmno'), 12);
  assert.equal(fuzzRatio('abcdefgh', 'abcijklm'), 38);
  assert.equal(fuzzRatio('é', 'e'), 0); // code points, not UTF-16 units or bytes
  assert.equal(codeSimScore('\n\n```python\n# comment\nx = foo(1)\n', 'x = foo(1)'), 1);
  assert.equal(codeSimScore('// all\n# comments', 'x = 1'), 0);
  assert.equal(codeSimScore('x = foo(2)', 'x = foo(1)'), 0.9);
  assert.equal(codeSimScore('', 'x'), 0);
});
