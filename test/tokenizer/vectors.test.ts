// llama.cpp's tokenizer test vectors (models/ggml-vocab-*.gguf.inp/.out), checked the way test-tokenizer-0.cpp
// checks them: texts are separated by "\n__ggml_vocab_test__\n" (so each text keeps its own leading and
// trailing newlines, and the file's final separator ends the last text), and each is tokenized with
// add_special = false and parse_special = false.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../../src/tokenizer/index.js';

const VOCAB_DIR = fileURLToPath(new URL('../../../shared/vocab/', import.meta.url));
const SEP = '\n__ggml_vocab_test__\n';

/** read_tests in test-tokenizer-0.cpp. */
function readTexts(raw: string): string[] {
  const texts: string[] = [];
  let pos = 0;
  while (pos < raw.length) {
    const next = raw.indexOf(SEP, pos);
    if (next < 0) {
      texts.push(raw.slice(pos));
      break;
    }
    texts.push(raw.slice(pos, next));
    pos = next + SEP.length;
  }
  return texts;
}

function readIds(raw: string): number[][] {
  return raw
    .split('\n')
    .map((line) => line.trim())
    .map((line) => (line === '' ? [] : line.split(' ').map(Number)));
}

if (!existsSync(VOCAB_DIR)) {
  test('tokenizer vectors', { skip: 'skipped: ../shared not present' }, () => {});
} else {
  const inputs = readdirSync(VOCAB_DIR)
    .filter((f) => f.endsWith('.gguf.inp'))
    .sort();
  for (const inp of inputs) {
    const gguf = VOCAB_DIR + inp.slice(0, -'.inp'.length);
    const name = inp.slice('ggml-vocab-'.length, -'.gguf.inp'.length);
    if (!existsSync(gguf)) {
      test(`vectors: ${name}`, {
        skip: `skipped: no vocab file ${name} in ../shared/vocab (only .inp/.out)`,
      }, () => {});
      continue;
    }
    test(`vectors: ${name}`, (t) => {
      const tok = Tokenizer.fromGguf(gguf);
      const texts = readTexts(readFileSync(`${gguf}.inp`, 'utf8'));
      const expected = readIds(readFileSync(`${gguf}.out`, 'utf8'));
      assert.ok(texts.length > 0, 'no texts');
      const failures: string[] = [];
      let encoded = 0;
      let roundTrips = 0;
      texts.forEach((text, i) => {
        const got = tok.encode(text);
        if (JSON.stringify(got) === JSON.stringify(expected[i])) encoded++;
        else {
          failures.push(`${JSON.stringify(text)}: expected ${expected[i].join(' ')}, got ${got.join(' ')}`);
        }
        if (tok.decode(expected[i]) === text) roundTrips++;
        else failures.push(`${JSON.stringify(text)} decodes to ${JSON.stringify(tok.decode(expected[i]))}`);
      });
      t.diagnostic(`${name}: ${encoded}/${texts.length} encoded, ${roundTrips} round-trip`);
      assert.deepEqual(failures, []);
    });
  }

  // How fast this is belongs in a benchmark (bench/speed.ts), not in a test that fails on a busy machine.
  test('100k characters of mixed text encode and decode back', {
    skip: !existsSync(`${VOCAB_DIR}ggml-vocab-gpt-2.gguf`),
  }, (t) => {
    const texts = readTexts(readFileSync(`${VOCAB_DIR}ggml-vocab-gpt-2.gguf.inp`, 'utf8'));
    let text = '';
    for (let i = 0; text.length < 100_000; i++) text += `${texts[i % texts.length]} ${i} `;
    for (const name of ['gpt-2', 'llama-spm', 'deepseek-llm']) {
      const tok = Tokenizer.fromGguf(`${VOCAB_DIR}ggml-vocab-${name}.gguf`);
      const t0 = performance.now();
      const ids = tok.encode(text, { parseSpecial: true });
      const ms = performance.now() - t0;
      t.diagnostic(`${name}: ${text.length} chars -> ${ids.length} tokens in ${ms.toFixed(0)} ms`);
      assert.equal(tok.decode(ids), text);
    }
  });
}
