// The command line facing hostile files and a new user's mistakes: bad input is exit 2 with one escaped line,
// pipes that close early end quietly, Ctrl-C in a real terminal behaves, and the small conveniences
// (empty prompt from BOS, seeds, --context-size, special tokens hidden) do what the help says.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GgmlType, GgufValueType } from '../../src/gguf/types.js';
import { hasControlChars } from '../helpers/controls.js';
import { type GgufEdit, ggufVariant } from '../helpers/gguf-variant.js';
import { TINY_MODEL, writeTinyModel } from '../helpers/tiny-model.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();
const model = writeTinyModel(join(dir, 'tiny.gguf'), {
  ...TINY_MODEL,
  contextLength: 2048,
  type: GgmlType.F32,
  seed: 3,
});

/** One kernel thread for commands that run the model: a second thread costs more to start than it saves. */
const oneThread = (args: string[]) =>
  args[0] === 'generate' || args[0] === 'chat' ? [args[0], '-t', '1', ...args.slice(1)] : args;

function kvsieve(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...oneThread(args)], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A copy of the tiny model with its metadata and tensors edited. */
const variant = (name: string, edit: GgufEdit) => ggufVariant(model, dir, name, edit);

test('no command is a usage error (exit 2, usage on stderr); --help is not', () => {
  const none = kvsieve();
  assert.equal(none.code, 2);
  assert.match(none.err, /usage: kvsieve <command>/);
  assert.equal(none.out, '');
  assert.equal(kvsieve('--help').code, 0);
});

test('commands and presses are looked up as own names only', () => {
  // (Every such name is covered by test/presses/lookup.test.ts; here, that the CLI says so and exits 2.)
  const r = kvsieve('constructor');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /unknown command "constructor"/);
  const p = kvsieve('generate', '-m', model, '--press', '__proto__', 'hi');
  assert.equal(p.code, 2, p.err);
  assert.match(p.err, /unknown press "__proto__"/);
});

test('a bad model file is exit 2 with one line naming the problem, never the bug hint', () => {
  const dupTokens = variant('dup', {
    kv: (kv) =>
      kv.map((e) =>
        e.key === 'tokenizer.ggml.tokens'
          ? { ...e, value: (e.value as string[]).map((t, i, all) => (i === 9 ? all[8] : t)) }
          : e,
      ),
  });
  const nanBase = variant('nan-base', {
    kv: (kv) =>
      kv.map((e) =>
        e.key === 'qwen2.rope.freq_base' ? { ...e, type: GgufValueType.FLOAT32, value: Number.NaN } : e,
      ),
  });
  for (const [path, pattern] of [
    [dupTokens, /duplicate token "<0x05>"/],
    [nanBase, /"qwen2\.rope\.freq_base" = NaN is invalid/],
  ] as const) {
    const r = kvsieve('generate', '-m', path, 'hi');
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, pattern);
    assert.doesNotMatch(r.err, /KVSIEVE_DEBUG/);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
});

test('inspect escapes control characters from the file, in text and in --json', () => {
  const evilKey = 'general.x\x1b[2J\x1b[H';
  const evilValue = '\x1b]0;owned\x07\u009b2J\u202egnp.exe';
  const evil = variant('evil', {
    kv: (kv) => [
      ...kv,
      { key: evilKey, type: GgufValueType.STRING, value: evilValue },
      { key: 'general.long', type: GgufValueType.STRING, value: 'L'.repeat(100_000) },
    ],
  });
  const text = kvsieve('inspect', evil);
  assert.equal(text.code, 0, text.err);
  assert.ok(!hasControlChars(text.out, '\n'), 'no raw control characters in the listing');
  assert.match(text.out, /general\.x\\x1b\[2J\\x1b\[H = "\\x1b\]0;owned\\x07\\x9b2J\\u202egnp\.exe"/);
  assert.match(text.out, /general\.long = "L{200}… \(100000 chars in all\)"/);
  const json = kvsieve('inspect', evil, '--json');
  assert.equal(json.code, 0, json.err);
  assert.ok(!hasControlChars(json.out, '\n'), 'no raw control characters in the JSON');
  const parsed = JSON.parse(json.out) as { metadata: Record<string, unknown> };
  assert.equal(parsed.metadata[evilKey], evilValue, 'the JSON still holds the exact value');
  // Typed arrays come out as JSON arrays.
  assert.ok(Array.isArray(parsed.metadata['tokenizer.ggml.scores']));
});

/** Runs the CLI with its stdout closed by the reader at once (`| head -0`). */
function closedPipe(...args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...oneThread(args)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      err += d;
    });
    child.on('close', (code) => resolve({ code, err }));
  });
}

test('a reader that goes away (| head) ends the command quietly: no EPIPE trace', async () => {
  for (const args of [
    ['generate', '-m', model, '-n', '64', '--temperature', '0', 'abc'],
    ['inspect', model, '--json'],
  ]) {
    const r = await closedPipe(...args);
    assert.equal(r.err, '', `${args[0]}: ${r.err}`);
    assert.equal(r.code, 0, args[0]);
  }
});

test('a directory as the model and a missing --file say what is wrong', () => {
  const d = join(dir, 'models-dir');
  mkdirSync(d, { recursive: true });
  const cases: [string[], RegExp][] = [
    [['generate', '-m', d, 'hi'], /--model .*models-dir is a directory; give a GGUF file/],
    [['inspect', d], /models-dir: is a directory, not a GGUF file/],
    [['generate', '-m', model, '--file', join(dir, 'nope.txt')], /--file .*nope\.txt: no such file/],
    [['generate', '-m', model, '--file', d], /--file .*models-dir: is a directory, not a file/],
  ];
  for (const [args, pattern] of cases) {
    const r = kvsieve(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, pattern);
    assert.doesNotMatch(r.err, /EISDIR|ENOENT/);
  }
});

test('generate "" starts from BOS alone', () => {
  const r = kvsieve('generate', '-m', model, '-n', '5', '--temperature', '0', '--json', '');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { promptTokens: number; completionTokens: number };
  assert.equal(j.promptTokens, 1);
  assert.ok(j.completionTokens > 0);
});

test('special tokens are left out of the text unless --special asks for them', () => {
  // An output head of zeros: every logit ties and greedy decoding picks id 0, the <unk> token, every time.
  const unk = variant('unk', {
    tensors: (t) =>
      t.map((x) => (x.name === 'output.weight' ? { ...x, data: new Uint8Array(x.data.length) } : x)),
  });
  const plain = kvsieve('generate', '-m', unk, '-n', '4', '--temperature', '0', '--json', 'abc');
  const j = JSON.parse(plain.out) as { text: string; completionTokens: number };
  assert.equal(j.completionTokens, 4);
  assert.equal(j.text, '');
  const shown = kvsieve('generate', '-m', unk, '-n', '4', '--temperature', '0', '--special', 'abc');
  assert.equal(shown.out, '<unk><unk><unk><unk>\n');
});

test('without --seed each run draws a seed and --json reports it; giving it back repeats the sample', () => {
  const run = (...extra: string[]) =>
    JSON.parse(
      kvsieve('generate', '-m', model, '--temperature', '1', '-n', '16', '--json', ...extra, 'abc').out,
    ) as { seed: number; text: string };
  const a = run();
  const b = run();
  assert.ok(Number.isInteger(a.seed) && Number.isInteger(b.seed));
  assert.notEqual(a.seed, b.seed, 'two runs, two seeds');
  assert.equal(run('--seed', String(a.seed)).text, a.text);
});

test('--context-size bounds the context; --chat on a model without a template says it uses ChatML', () => {
  const small = kvsieve('generate', '-m', model, '-c', '16', 'abc '.repeat(20));
  assert.equal(small.code, 2);
  assert.match(small.err, /exceed the context size of 16 tokens/);
  const big = kvsieve('generate', '-m', model, '--context-size', '4096', 'abc');
  assert.equal(big.code, 2);
  assert.match(big.err, /--context-size must be a whole number >= 1 and <= 2048/);
  const chat = kvsieve('generate', '-m', model, '--chat', '-n', '2', 'hi');
  assert.equal(chat.code, 0, chat.err);
  assert.match(chat.err, /no chat template \(tokenizer\.chat_template\); using ChatML/);
});

const python = spawnSync('python3', ['--version']).status === 0;

test('chat in a terminal: Ctrl-C stops the reply and the prompt reads again; Ctrl-C at the prompt exits 130', {
  skip: python ? false : 'python3 (for a pseudo-terminal) not found',
}, () => {
  const steps = [
    { expect: '> ', timeout: 60 },
    { send: 'tell me a long story\r' },
    { expect: 'tell me a long story\\r*\\n', timeout: 10 },
    { more: 40, timeout: 30 }, // the reply is streaming
    { send: '\u0003' },
    { expect: '\\[reply interrupted\\][^>]*> ', timeout: 30 },
    { send: '/stats\r' },
    { expect: '(\\d+) tokens seen', timeout: 10 },
    { expect: '> ', timeout: 10 },
    { send: '\u0003' },
  ];
  const r = spawnSync(
    'python3',
    [
      'test/helpers/pty-run.py',
      JSON.stringify(steps),
      process.execPath,
      '--import',
      'tsx',
      'src/cli/main.ts',
      'chat',
      '-t',
      '1',
      '-m',
      model,
      '--temperature',
      '0',
      '-n',
      '100000',
    ],
    { encoding: 'utf8', timeout: 240_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout) as {
    failed_step: number | null;
    output: string;
    status: number | null;
  };
  const tail = JSON.stringify(result.output.slice(-600));
  assert.equal(result.failed_step, null, `step ${result.failed_step} timed out; output ends ${tail}`);
  // Interrupted well before the context (2048) filled up.
  const seen = Number(/(\d+) tokens seen/.exec(result.output)?.[1]);
  assert.ok(seen < 1500, `${seen} tokens seen`);
  assert.equal(result.status, 130, `exit status; output ends ${tail}`);
});
