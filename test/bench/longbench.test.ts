// LongBench from local JSONL: templates, middle truncation, the context/question split, eval.py scoring, on
// hand-written rows.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { getTask } from '../../src/bench/tasks/index.js';
import {
  type LongBenchRow,
  loadLongBench,
  longbenchScore,
  parseLongBenchJsonl,
  truncateMiddle,
} from '../../src/bench/tasks/longbench.js';
import { countTokens } from '../../src/bench/tasks/types.js';
import { Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { hasShared, SKIP_SHARED, sharedPath } from '../helpers/shared.js';
import { tempDir } from '../helpers/tmp.js';

/** Counts characters as tokens (no BOS); decode maps codes back. */
const chars = {
  encode: (s: string) => Array.from(s, (c) => c.codePointAt(0)!),
  decode: (ids: readonly number[]) => String.fromCodePoint(...ids),
};

const trec: LongBenchRow = {
  input: 'What city is the capital of Peru ?\nType:',
  context: 'Who wrote Hamlet ?\nType: Human being\nWhere is Lima ?\nType: Location',
  answers: ['Location'],
  all_classes: ['Human being', 'Location', 'Description', 'Entity', 'Abbreviation', 'Numeric value'],
  length: 20,
  _id: 'trec-1',
};

test('prompt in the dataset template; context part ends where the question part begins', () => {
  const task = getTask('longbench:trec', { longbenchRows: [trec] });
  const s = task.generate(chars, { tokens: 10_000, seed: 0 });
  assert.equal(
    s.prompt,
    `Please determine the type of the question below. Here are some examples of questions.\n\n${trec.context}\n${trec.input}`,
  );
  assert.equal(s.questionPart, `\n${trec.input}`);
  assert.equal(s.prompt, s.contextPart + s.questionPart);
  assert.equal(s.id, 'trec-1');
  assert.equal(s.maxNewTokens, 64);
  assert.equal(s.meta?.noChatTemplate, true);
  assert.equal(s.meta?.truncated, false);
  // eval.py: first line only for TREC, then classification over all_classes.
  assert.equal(task.score('Location\nQuestion: Where is Paris ?\nType: Location', s), 1);
  assert.equal(task.score('\n\nLocation', s), 1);
  assert.equal(task.score('Human being', s), 0);
  assert.equal(task.score('Location or Human being', s), 0.5);
});

test('middle truncation keeps max_length/2 tokens from each end', () => {
  const row: LongBenchRow = { input: 'Who?', context: 'x'.repeat(1000), answers: ['Bob'] };
  const task = getTask('longbench:hotpotqa', { longbenchRows: [row] });
  const s = task.generate(chars, { tokens: 400, seed: 0 });
  const full = task.generate(chars, { tokens: 100_000, seed: 0 }).prompt;
  assert.equal(s.prompt, full.slice(0, 200) + full.slice(full.length - 200));
  assert.equal(s.tokens, 400);
  assert.ok(s.prompt.endsWith('\n\nQuestion: Who?\nAnswer:'));
  assert.equal(s.prompt, s.contextPart + s.questionPart);
  assert.ok(s.questionPart.startsWith('\n\nAnswer the question based on the given passages.'));
  assert.equal(s.meta?.truncated, true);
  assert.equal(s.meta?.fullTokens, full.length);
  // When even the tail cannot hold the whole question part, the kept tail is the question part.
  const tiny = task.generate(chars, { tokens: 40, seed: 0 });
  assert.equal(tiny.prompt, full.slice(0, 20) + full.slice(full.length - 20));
  assert.equal(tiny.contextPart, full.slice(0, 20).trimEnd());
  assert.equal(truncateMiddle(chars, 'short', 10), undefined);
  assert.throws(() => truncateMiddle({ encode: chars.encode }, 'long text', 4), /decode/);
});

test('truncation with a real vocabulary stays at max_length', { skip: !hasShared && SKIP_SHARED }, () => {
  const tok = Tokenizer.fromGguf(sharedPath('vocab/ggml-vocab-llama-spm.gguf'));
  const row: LongBenchRow = {
    input: 'Which city is the capital?',
    context: 'Passage 1:\nParis\nParis is the capital of France. '.repeat(300),
    answers: ['Paris'],
  };
  const task = getTask('longbench:2wikimqa', { longbenchRows: [row] });
  const s = task.generate(tok, { tokens: 1000, seed: 0 });
  assert.ok(Math.abs(s.tokens - 1000) <= 2, `${s.tokens}`);
  assert.equal(s.tokens, countTokens(tok, s.prompt));
  assert.ok(s.prompt.startsWith('Answer the question based on the given passages.'));
  assert.ok(s.prompt.endsWith('Question: Which city is the capital?\nAnswer:'));
  assert.equal(task.score('Paris', s), 1);
});

test('eval.py scoring per dataset: best over answers, the right metric', () => {
  assert.equal(longbenchScore('hotpotqa', 'the Paris', ['London', 'Paris']), 1);
  assert.equal(longbenchScore('triviaqa', 'Paris\nLondon is wrong', ['Paris']), 1);
  assert.equal(longbenchScore('hotpotqa', 'Paris\nLondon', ['Paris']), 2 / 3);
  assert.equal(longbenchScore('passage_count', 'There are 7.', ['7']), 1);
  assert.equal(longbenchScore('passage_retrieval_en', 'Paragraph 3', ['Paragraph 3']), 1);
  assert.equal(longbenchScore('passage_retrieval_zh', '段落3', ['段落3']), 1);
  assert.equal(longbenchScore('lcc', '# note\nreturn x\n', ['return x']), 1);
  assert.equal(longbenchScore('repobench-p', '', ['return x']), 0);
  assert.ok(
    Math.abs(longbenchScore('gov_report', 'the cat sat on the mat', ['the cat lay on the mat']) - 0.8) < 1e-6,
  );
  assert.equal(longbenchScore('hotpotqa_e', 'Paris', ['Paris']), 1);
  assert.throws(() => longbenchScore('vcsum', 'x', ['x']), /not supported/);
});

test('JSONL loading and its errors', () => {
  const p = join(tempDir(), 'trec.jsonl');
  writeFileSync(p, `${JSON.stringify(trec)}\n\n${JSON.stringify({ ...trec, _id: 'trec-2' })}\n`);
  const rows = loadLongBench(p);
  assert.deepEqual(
    rows.map((r) => r._id),
    ['trec-1', 'trec-2'],
  );
  const task = getTask('longbench:trec', { longbenchFile: p });
  assert.equal(task.generate(chars, { tokens: 5000, seed: 3 }).id, 'trec-2');
  assert.equal(task.generate(chars, { tokens: 5000, seed: 3, index: 0 }).id, 'trec-1');
  assert.throws(() => parseLongBenchJsonl('{"input": 1}', 'f'), /f:1: expected/);
  assert.throws(() => parseLongBenchJsonl('{oops', 'f'), /f:1: not JSON/);
  assert.throws(() => getTask('longbench:trec', { longbenchRows: [] }), /no rows/);
});
