// Query-aware compression and press options from the command line, on the embedded demo model (it finds
// passkeys): generate --question / --question-file, chat (the newest user message is the question of its turn),
// --press NAME:OPT=V, and `kvsieve presses` listing options with their defaults.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { passkeyTask } from '../../src/bench/tasks/passkey.js';
import { UsageError } from '../../src/cli/errors.js';
import { pressSpecFrom } from '../../src/cli/options.js';
import { Model } from '../../src/model/model.js';
import { defaultModelPath } from '../../src/paths.js';
import { describePresses } from '../../src/presses/index.js';
import { tempDir } from '../helpers/tmp.js';

function kvsieve(args: string[], input?: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    input,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = tempDir();
const contextFile = join(dir, 'context.txt');
const questionFile = join(dir, 'question.txt');
let key = '';

test('setup: a 1000-token passkey prompt cut where its question starts', async () => {
  const model = await Model.load(defaultModelPath, { threads: 1 });
  try {
    const s = passkeyTask().generate(model.tokenizer, { tokens: 1000, seed: 5, depth: 0.3 });
    writeFileSync(contextFile, s.contextPart);
    writeFileSync(questionFile, s.questionPart);
    key = s.answers[0];
  } finally {
    await model.close();
  }
});

test('generate --question-file: LASER-KV compresses the context with the question in view and answers', () => {
  for (const press of ['laserkv:divisor=3', 'snapkv:window=16']) {
    const r = kvsieve([
      'generate',
      '--file',
      contextFile,
      '--question-file',
      questionFile,
      '--press',
      press,
      '--ratio',
      '4',
      '-n',
      '8',
      '--json',
    ]);
    assert.equal(r.code, 0, `${press}: ${r.err}`);
    const j = JSON.parse(r.out) as {
      text: string;
      press: string;
      keptFraction: number;
      promptTokens: number;
    };
    assert.ok(j.text.includes(key), `${press} answered ${JSON.stringify(j.text)}, the key is ${key}`);
    assert.ok(j.keptFraction < 0.6, `${press} compressed: ${j.keptFraction}`);
    assert.ok(Math.abs(j.promptTokens - 1000) <= 2, `${j.promptTokens} prompt tokens (context + question)`);
  }
});

test('generate with LASER-KV and no question: the prompt’s last tokens stand in for it', () => {
  const r = kvsieve(['generate', '--file', contextFile, '--press', 'laserkv', '-n', '4', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { keptFraction: number };
  assert.ok(j.keptFraction < 0.6);
});

test('chat with LASER-KV: every turn is compressed with its user message as the question', () => {
  const r = kvsieve(
    ['chat', '--press', 'laserkv', '--ratio', '4', '-n', '6'],
    'Mary went to the garden. Where is Mary?\nAnd where is John?\n/stats\n/exit\n',
  );
  assert.equal(r.code, 0, r.err);
  const m = r.out.match(/(\d+) tokens seen, ([\d.]+)% kept/);
  assert.ok(m, r.out);
  assert.ok(Number(m[2]) < 100, `compressed: ${m[2]}% kept`);
});

test('press options: bad ones exit 2 naming the option, before the model loads', () => {
  const cases: [string[], RegExp][] = [
    [['--press', 'lagkv:lag=1'], /--press: lagkv: lag size L must be a whole number >= 2, got 1/],
    [['--question', 'a', '--question-file', questionFile], /give --question or --question-file, not both/],
  ];
  for (const [args, pattern] of cases) {
    const r = kvsieve(['generate', '-m', join(dir, 'missing.gguf'), ...args, 'hello']);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, pattern);
  }
  // The same parsing in process (every UsageError exits 2, as above).
  const bad: [Record<string, string>, RegExp][] = [
    [{ press: 'lagkv:lga=64' }, /--press: lagkv: unknown option "lga" \(options: sink, lag, skipLayers/],
    [{ press: 'laserkv:divisor=1' }, /divisor must be a whole number >= 2, got 1/],
    [{ press: 'lagkv', budget: '10' }, /lagkv takes a ratio, not an absolute budget/],
    [{ press: 'lagkv', budget: '10', ratio: '2' }, /give --ratio or --budget, not both/],
    [{ ratio: '2' }, /--ratio\/--budget need a --press/],
  ];
  for (const [values, pattern] of bad)
    assert.throws(
      () => pressSpecFrom(values),
      (e: Error) => e instanceof UsageError && pattern.test(e.message),
    );
  assert.deepEqual(pressSpecFrom({ press: 'lagkv:lag=64', ratio: '8' }), {
    name: 'lagkv',
    lag: 64,
    ratio: 8,
  });
  assert.deepEqual(pressSpecFrom({ press: 'knorm', budget: '100' }), { name: 'knorm', budget: 100 });
});

test('kvsieve presses lists each press’s options with their defaults (and --json the same)', () => {
  const r = kvsieve(['presses']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^\s+lagkv\s+LagKV/m);
  for (const line of [/sink=16\s+leading tokens never scored/, /lag=128\s+partition size L/, /divisor=4\s/]) {
    assert.match(r.out, line);
  }
  assert.match(r.out, /pooling=avg\s+vote smoothing.*\(avg\|max\)/);
  assert.match(r.out, /skipLayers=0\/1/);
  // --json prints describePresses() as is.
  const laser = describePresses().find((p) => p.name === 'laserkv');
  assert.equal(laser?.sizing, 'ratio');
  assert.deepEqual(
    laser?.options.map((o) => [o.name, o.default]),
    [
      ['blockSize', 4096],
      ['divisor', 4],
      ['split', 0.75],
      ['lshBits', 10],
      ['lshTables', 8],
      ['seed', 0],
      ['mode', 'append'],
      ['ablation', 'hybrid'],
      ['fallbackTokens', 32],
    ],
  );
});
