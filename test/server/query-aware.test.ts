// Query-aware compression and press options through the server: chat completions take the last user message
// as the question, completions `kvsieve.question`; `kvsieve.options` reach the press; bad combinations are 400s
// naming the field (a press refusing the prompt too, never a 500); LASER-KV answers end to end on the demo model.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { passkeyTask } from '../../src/bench/tasks/passkey.js';
import { Model } from '../../src/model/model.js';
import { defaultModelPath } from '../../src/paths.js';
import { chatParts } from '../../src/server/prompt.js';
import { KvsieveServer } from '../../src/server/server.js';
import { startServer } from './helpers.js';

const tiny = await startServer({ contextLength: 512 });

interface Reply {
  status: number;
  body: {
    error?: { message: string; param: string | null; type: string };
    choices?: { text?: string; message?: { content: string } }[];
    usage?: { prompt_tokens: number; completion_tokens: number };
    kvsieve?: { press: string; kept_tokens: number; tokens_seen: number; kept_fraction: number };
  };
}

async function post(base: string, path: string, body: unknown): Promise<Reply> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Reply['body'] };
}

const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i % 17}`).join(' ');

test('completions with kvsieve.question: the prompt is compressed with it in view, the question fed whole', async () => {
  const base = { prompt: words(120), max_tokens: 4, temperature: 0 };
  const kvsieve = { press: 'snapkv', budget: 16, options: { window: 4 } };
  const without = await post(tiny.url, '/v1/completions', { ...base, kvsieve });
  assert.equal(without.status, 200, JSON.stringify(without.body));
  // One-shot SnapKV: the whole prompt is compressed to 16 per head; the answer is appended.
  const w = without.body.kvsieve;
  const generated = (r: Reply) => r.body.usage?.completion_tokens ?? 0;
  assert.equal(w?.kept_tokens, 2 * 2 * (16 + generated(without)));
  const withQ = await post(tiny.url, '/v1/completions', {
    ...base,
    kvsieve: { ...kvsieve, question: ' w3 w5 w7' },
  });
  assert.equal(withQ.status, 200, JSON.stringify(withQ.body));
  const q = withQ.body.kvsieve;
  const promptTokens = withQ.body.usage?.prompt_tokens ?? 0;
  const questionTokens = promptTokens - (without.body.usage?.prompt_tokens ?? 0);
  assert.ok(questionTokens > 0, 'the question counts as prompt');
  // The prompt (context) kept 16 per head; the question's tokens and the answer are all held.
  assert.equal(q?.tokens_seen, promptTokens + generated(withQ));
  assert.equal(q?.kept_tokens, 2 * 2 * (16 + questionTokens + generated(withQ)));
  // Token ids work as a question too.
  const ids = await post(tiny.url, '/v1/completions', {
    ...base,
    kvsieve: { ...kvsieve, question: [40, 41] },
  });
  assert.equal(ids.status, 200);
  assert.equal(ids.body.kvsieve?.kept_tokens, 2 * 2 * (16 + 2 + generated(ids)));
});

test('chat completions: the last user message (and what the template puts after it) is the question', async () => {
  const messages = [
    { role: 'user', content: words(60) },
    { role: 'assistant', content: 'w1 w2' },
    { role: 'user', content: `${words(40)} w9 w9 w9` },
  ];
  const r = await post(tiny.url, '/v1/chat/completions', {
    messages,
    max_tokens: 3,
    temperature: 0,
    kvsieve: { press: 'snapkv', budget: 16 },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const parts = chatParts(tiny.model, messages);
  const rest = parts.rest?.length ?? 0;
  assert.ok(rest > 40, `the question part holds the last message (${rest} tokens)`);
  const n = r.body.usage?.completion_tokens ?? 0;
  assert.equal(r.body.kvsieve?.kept_tokens, 2 * 2 * (16 + rest + n));
});

test('kvsieve.options reach the press, and every bad combination is a 400 naming the field', async () => {
  const ok = await post(tiny.url, '/v1/completions', {
    prompt: words(100),
    max_tokens: 1,
    kvsieve: { press: 'lagkv', ratio: 2, options: { lag: 16, sink: 4 } },
  });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const cases: [unknown, RegExp, string][] = [
    [{ press: 'lagkv', options: { lga: 64 } }, /lagkv: unknown option "lga"/, 'kvsieve.options.lga'],
    [
      { press: 'lagkv', options: { lag: 1 } },
      /lag size L must be a whole number >= 2/,
      'kvsieve.options.lag',
    ],
    [{ press: 'lagkv', options: { lag: '64' } }, /option lag must be a whole number/, 'kvsieve.options.lag'],
    [{ press: 'lagkv', options: [1] }, /'kvsieve.options' must be an object/, 'kvsieve.options'],
    [{ press: 'lagkv', options: { ratio: 2 } }, /give the ratio as 'kvsieve.ratio'/, 'kvsieve.options.ratio'],
    [{ options: { lag: 64 } }, /need 'kvsieve.press'/, 'kvsieve.press'],
    [{ press: 'lagkv', frob: 1 }, /'kvsieve.frob' is not a kvsieve field/, 'kvsieve.frob'],
    [{ press: 'constructor' }, /unknown press "constructor"/, 'kvsieve.press'],
    [{ press: 'laserkv', question: '' }, /'kvsieve.question' must be a non-empty string/, 'kvsieve.question'],
    [{ press: 'laserkv', question: [1, 9999] }, /token ids in \[0, 300\)/, 'kvsieve.question'],
  ];
  for (const [kvsieve, message, param] of cases) {
    const r = await post(tiny.url, '/v1/completions', { prompt: 'hello there', kvsieve });
    const what = JSON.stringify(kvsieve);
    assert.equal(r.status, 400, what);
    assert.match(r.body.error?.message ?? '', message, what);
    assert.equal(r.body.error?.param, param, what);
  }
  const chatQ = await post(tiny.url, '/v1/chat/completions', {
    messages: [{ role: 'user', content: 'hi' }],
    kvsieve: { press: 'snapkv', question: 'why?' },
  });
  assert.equal(chatQ.status, 400);
  assert.equal(chatQ.body.error?.param, 'kvsieve.question');
});

test('a press that refuses the prompt is a 400 before any answer starts, streamed or not', async () => {
  for (const stream of [false, true]) {
    // LASER-KV at ratio 8 on a 3-token prompt: B = ⌊2·(1/8)·4096·3/4099⌋ = 0, nothing left to choose.
    const r = await post(tiny.url, '/v1/completions', {
      prompt: [5, 6, 7],
      stream,
      kvsieve: { press: 'laserkv', ratio: 8 },
    });
    assert.equal(r.status, 400, `stream ${stream}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.error?.message ?? '', /laserkv: .* leaves G = B − 2⌊B\/n⌋ = 0/);
    assert.equal(r.body.error?.param, 'kvsieve');
  }
  assert.ok(!tiny.logs.some((l) => l.status >= 500), 'no 500s');
});

test('/v1/models lists each press with its options and defaults', async () => {
  const res = await fetch(`${tiny.url}/v1/models`);
  const j = (await res.json()) as {
    data: { kvsieve: { presses: { name: string; options: { name: string; default?: unknown }[] }[] } }[];
  };
  const lag = j.data[0].kvsieve.presses.find((p) => p.name === 'lagkv');
  assert.deepEqual(
    lag?.options.slice(0, 2).map((o) => [o.name, o.default]),
    [
      ['sink', 16],
      ['lag', 128],
    ],
  );
});

test('LASER-KV answers from the server on the demo model: chat-free completion with a question', async () => {
  const model = await Model.load(defaultModelPath, { threads: 2 });
  const server = new KvsieveServer({ model, modelId: 'demo' });
  const { port } = await server.listen(0);
  after(async () => {
    await server.shutdown(0);
    await model.close();
  });
  const s = passkeyTask().generate(model.tokenizer, { tokens: 1000, seed: 8, depth: 0.6 });
  for (const kvsieve of [
    { press: 'laserkv', ratio: 4, question: s.questionPart },
    { press: 'laserkv', ratio: 4, question: s.questionPart, options: { blockSize: 256 } },
  ]) {
    const r = await post(`http://127.0.0.1:${port}`, '/v1/completions', {
      prompt: s.contextPart,
      max_tokens: 8,
      temperature: 0,
      kvsieve,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(
      r.body.choices?.[0].text?.includes(s.answers[0]),
      `${JSON.stringify(kvsieve.options)}: ${r.body.choices?.[0].text} (key ${s.answers[0]})`,
    );
    assert.ok((r.body.kvsieve?.kept_fraction ?? 1) < 0.6);
    assert.equal(r.body.kvsieve?.press, 'laserkv');
  }
  // Chat: the conversation before the last user message is compressed with that message as the question.
  const chat = await post(`http://127.0.0.1:${port}`, '/v1/chat/completions', {
    messages: [
      { role: 'user', content: s.contextPart },
      { role: 'assistant', content: 'I will remember it.' },
      { role: 'user', content: s.questionPart.trim() },
    ],
    max_tokens: 8,
    temperature: 0,
    kvsieve: { press: 'laserkv', ratio: 4 },
  });
  assert.equal(chat.status, 200, JSON.stringify(chat.body));
  assert.ok((chat.body.kvsieve?.kept_fraction ?? 1) < 0.6);
});
