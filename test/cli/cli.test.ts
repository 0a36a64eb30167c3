// The command line as a user meets it: help, clear one-line errors with a non-zero exit, real output.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GgmlType } from '../../src/gguf/types.js';
import { hasShared, SKIP_SHARED, sharedPath } from '../helpers/shared.js';
import { TINY_MODEL, writeTinyModel } from '../helpers/tiny-model.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const model = join(dir, 'tiny.gguf');
const TINY = { ...TINY_MODEL, contextLength: 128, type: GgmlType.Q8_0, tiedOutput: true, seed: 3 };
writeTinyModel(model, TINY);

// The TypeScript entry point, so a stale dist/ can never stand in for the code under test.
function kvsieve(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('--help lists the commands, and each command has its own help', () => {
  const r = kvsieve('--help');
  assert.equal(r.code, 0);
  for (const c of ['demo', 'generate', 'chat', 'inspect', 'convert', 'serve', 'bench', 'presses']) {
    assert.match(r.out, new RegExp(`\\b${c}\\b`));
  }
  const p = kvsieve('presses');
  for (const name of [
    'full',
    'lagkv',
    'laserkv',
    'h2o',
    'snapkv',
    'pyramidkv',
    'tova',
    'adakv',
    'streaming',
    'knorm',
  ]) {
    assert.match(p.out, new RegExp(`^\\s+${name}\\s`, 'm'));
  }
  const g = kvsieve('generate', '--help');
  assert.equal(g.code, 0);
  assert.match(g.out, /--max-tokens/);
});

test('user mistakes give one clear line and exit code 2, no stack trace', () => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['generate', '-m', model, '--threads', '0', 'hi'], /--threads must be a whole number >= 1/],
    [['generate', '-m', model, '--temperature', 'hot', 'hi'], /--temperature must be a number/],
    [['generate', '-m', join(dir, 'nope.gguf'), 'hi'], /model file not found/],
    [['generate', '-m', model, '--bogus', 'hi'], /Unknown option '--bogus'/],
    [
      ['bench', '-m', model, '--cache-type', 'f16,q9'],
      /--cache-type: "q9" is not one of f32, f16, q8_0, q4_0/,
    ],
    [
      ['generate', '-m', model, '--cache-type-k', 'q9', 'hi'],
      /--cache-type-k must be one of f32, f16, q8_0, q4_0, got "q9"/,
    ],
    [
      ['chat', '-m', model, '--cache-type-v', 'q4_0'],
      /--cache-type-v: q4_0 stores blocks of 32 values, but this model's head size is 16/,
    ],
    [['inspect', '/etc/hostname'], /not a GGUF file|file too small/],
    [['convert', model], /--tokenizer is required/],
  ];
  for (const [args, pattern] of cases) {
    const r = kvsieve(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}, stderr ${r.err}`);
    assert.match(r.err, pattern);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  }
});

test('inspect shows metadata, tensors and a memory estimate; --json is machine-readable', () => {
  const r = kvsieve('inspect', model, '--tensors');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /general\.architecture = "qwen2"/);
  assert.match(r.out, /blk\.1\.attn_q\.bias\s+F32\s+\[64\]/);
  // KV per token: 2 (K,V) × 2 layers × 2 KV heads × 16 dims × 4 bytes + positions 2 × 2 × 4 bytes = 528 B.
  assert.match(r.out, /KV cache 528 B\/token/);
  const j = JSON.parse(kvsieve('inspect', model, '--json').out) as {
    memory: { kvBytesPerToken: number };
    tensors: unknown[];
  };
  assert.equal(j.memory.kvBytesPerToken, 528);
  assert.equal(j.tensors.length, 2 * 12 + 2);
});

test('generate --json reports text and token counts; the same seed gives the same sample', () => {
  const args = [
    'generate',
    '-m',
    model,
    '--temperature',
    '0.8',
    '--seed',
    '42',
    '-n',
    '12',
    '--json',
    'abc abc',
  ];
  const a = JSON.parse(kvsieve(...args).out) as {
    text: string;
    completionTokens: number;
    finishReason: string;
  };
  const b = JSON.parse(kvsieve(...args).out) as { text: string };
  assert.equal(a.text, b.text);
  assert.ok(a.completionTokens <= 12);
  assert.ok(['length', 'stop'].includes(a.finishReason));
});

test('convert then generate: stories260K tells its story from the CLI', {
  skip: !hasShared && SKIP_SHARED,
}, () => {
  const out = join(dir, 'stories.gguf');
  const c = kvsieve(
    'convert',
    sharedPath('models/stories260K.bin'),
    '--tokenizer',
    sharedPath('models/tok512.bin'),
    '-o',
    out,
  );
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /dim 64, 5 layers, 8 heads \(4 KV\), vocab 512/);
  const g = kvsieve('generate', '-m', out, '-n', '24', 'Once upon a time');
  assert.equal(g.code, 0, g.err);
  assert.match(g.out, /Lily|little girl|named/);
});

test('a prompt file longer than the context is refused with the numbers', () => {
  const f = join(dir, 'long.txt');
  writeFileSync(f, 'abc '.repeat(400));
  const r = kvsieve('generate', '-m', model, '--file', f);
  assert.equal(r.code, 2);
  assert.match(r.err, /exceed the context size of 128 tokens/);
});

test('chat reads piped turns, keeps one compressed cache, and answers /stats', () => {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'chat',
      '-m',
      model,
      '--press',
      'streaming',
      '--budget',
      '16',
      '-n',
      '8',
    ],
    { encoding: 'utf8', input: 'abc\nabc abc\n/stats\n/exit\n', timeout: 120_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  // Two turns went through one context: more tokens seen than the 16 each KV head may keep.
  const m = r.stdout.match(/(\d+) tokens seen, ([\d.]+)% kept/);
  assert.ok(m, r.stdout);
  assert.ok(Number(m[1]) > 16);
  assert.ok(Math.abs(Number(m[2]) - (16 / Number(m[1])) * 100) < 0.1);
});

test('demo --json reports every press on every length, with kept fractions', () => {
  const roomy = join(dir, 'roomy-demo.gguf');
  writeTinyModel(roomy, { ...TINY, contextLength: 1024 });
  const r = kvsieve(
    'demo',
    '-m',
    roomy,
    '--lengths',
    '300,600',
    '--presses',
    'full,lagkv,streaming',
    '--json',
  );
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as {
    results: { press: string; tokens: number; keptFraction: number; correct: boolean }[];
  };
  assert.equal(j.results.length, 6);
  assert.deepEqual(
    j.results.map((x) => x.press),
    ['full', 'lagkv', 'streaming', 'full', 'lagkv', 'streaming'],
  );
  for (const x of j.results) assert.ok(Math.abs(x.tokens - (x.tokens < 450 ? 300 : 600)) <= 6);
  // Streaming at 4× keeps a quarter; full keeps everything.
  assert.equal(j.results[0].keptFraction, 1);
  assert.ok(j.results[5].keptFraction < 0.3);
});
