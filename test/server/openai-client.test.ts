// End to end with the official `openai` client: what an OpenAI user's code sees from `kvsieve serve`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { KvsieveStats } from '../../src/server/openai.js';
import { startServer } from './helpers.js';

const { url } = await startServer();
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
const messages = [{ role: 'user' as const, content: 'Tell me a story.' }];

/** The `kvsieve` field the server adds beside OpenAI's own. */
function stats(x: object): KvsieveStats {
  return (x as { kvsieve: KvsieveStats }).kvsieve;
}

test('models.list and models.retrieve show the served model', async () => {
  const page = await client.models.list();
  assert.deepEqual(
    page.data.map((m) => m.id),
    ['tiny'],
  );
  const m = await client.models.retrieve('tiny');
  assert.equal(m.object, 'model');
  await assert.rejects(client.models.retrieve('gpt-4'), OpenAI.NotFoundError);
});

test('chat: whole and streamed answers agree, with usage, finish_reason and the kvsieve stats', async () => {
  const params = { model: 'tiny', messages, max_tokens: 12, temperature: 0 };
  const whole: ChatCompletion = await client.chat.completions.create(params);
  const choice = whole.choices[0];
  assert.equal(whole.object, 'chat.completion');
  assert.equal(choice.message.role, 'assistant');
  assert.ok(choice.message.content);
  assert.ok(whole.usage);
  assert.ok(whole.usage.prompt_tokens > 0);
  assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);
  if (choice.finish_reason === 'length') assert.equal(whole.usage.completion_tokens, 12);
  const s = stats(whole);
  assert.equal(s.press, null);
  assert.equal(s.kept_fraction, 1);
  assert.ok(s.kv_bytes > 0);
  assert.equal(s.cache_id, whole.id);

  const stream = await client.chat.completions.create({
    ...params,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks: ChatCompletionChunk[] = [];
  for await (const c of stream) chunks.push(c);
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id));
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  assert.equal(text, choice.message.content, 'greedy decoding gives the same text streamed or not');
  const withChoices = chunks.filter((c) => c.choices.length > 0);
  assert.ok(withChoices.slice(0, -1).every((c) => c.choices[0].finish_reason === null));
  const last = withChoices[withChoices.length - 1];
  assert.equal(last.choices[0].finish_reason, choice.finish_reason);
  assert.equal(stats(last).kept_fraction, 1);
  const usageChunk = chunks[chunks.length - 1];
  assert.deepEqual(usageChunk.choices, []);
  assert.deepEqual(usageChunk.usage, whole.usage);
});

test('completions: stop cuts before the stop text; max_tokens bounds the length', async () => {
  const base = { model: 'tiny', prompt: 'Once upon a time', temperature: 0, max_tokens: 24 };
  const full = await client.completions.create(base);
  const text = full.choices[0].text;
  assert.equal(full.object, 'text_completion');
  assert.ok(text.length >= 8, `a long enough sample: ${JSON.stringify(text)}`);
  const stop = text.slice(5, 7);
  const stopped = await client.completions.create({ ...base, stop: [stop] });
  assert.equal(stopped.choices[0].text, text.slice(0, text.indexOf(stop)));
  assert.equal(stopped.choices[0].finish_reason, 'stop');

  const short = await client.completions.create({ ...base, max_tokens: 3 });
  assert.equal(short.usage?.completion_tokens, 3);
  assert.equal(short.choices[0].finish_reason, 'length');

  const stream = await client.completions.create({ ...base, stream: true });
  let streamed = '';
  for await (const c of stream) streamed += c.choices[0]?.text ?? '';
  assert.equal(streamed, text);
});

test('seed and temperature: the same seed samples the same text', async () => {
  const params = { model: 'tiny', prompt: 'The cat', temperature: 1.5, top_p: 0.95, max_tokens: 16 };
  const a = await client.completions.create({ ...params, seed: 42 });
  const b = await client.completions.create({ ...params, seed: 42 });
  assert.equal(a.choices[0].text, b.choices[0].text);
});

test('the kvsieve field picks the cache storage: an f32 cache reports twice the bytes of the default f16', async () => {
  const params = {
    model: 'tiny',
    prompt: 'the quick brown fox jumps over the lazy dog',
    max_tokens: 4,
    temperature: 0,
  };
  const f16 = await client.completions.create(params);
  const f32 = await client.completions.create({
    ...params,
    kvsieve: { cacheType: { k: 'f32', v: 'f32' } },
  } as typeof params);
  const [a, b] = [stats(f16), stats(f32)];
  assert.equal(a.tokens_seen, b.tokens_seen);
  // Per token and head: f16 2·16·2 + 4 position bytes = 68, f32 2·16·4 + 4 = 132.
  assert.equal(b.kv_bytes * 68, a.kv_bytes * 132);
});

test('the kvsieve field picks a press: its answer reports the smaller cache, and the cache view shows it', async () => {
  const long = { role: 'user' as const, content: 'the quick brown fox jumps over the lazy dog '.repeat(3) };
  const params = { model: 'tiny', messages: [long], max_tokens: 4, temperature: 0 };
  const full = await client.chat.completions.create(params);
  const pressed = await client.chat.completions.create({
    ...params,
    kvsieve: { press: 'streaming', budget: 16 },
  } as typeof params);
  const s = stats(pressed);
  assert.equal(s.press, 'streaming');
  assert.equal(s.budget, 16);
  assert.equal(s.tokens_seen, stats(full).tokens_seen);
  assert.ok(s.kept_fraction < 0.5, `kept ${s.kept_fraction}`);
  assert.ok(s.kv_bytes < stats(full).kv_bytes);

  const view = (await (await fetch(`${url}/v1/kvsieve/cache/${s.cache_id}`)).json()) as {
    tokens_seen: number;
    layers: { heads: { kept: number; by_segment: number[]; ranges: number[][] }[] }[];
  };
  for (const layer of view.layers) {
    for (const h of layer.heads) {
      assert.ok(h.kept <= 17, `a head keeps ${h.kept} tokens on a budget of 16`);
      assert.equal(
        h.by_segment.reduce((a, b) => a + b, 0),
        h.kept,
      );
      // StreamingLLM keeps the first tokens (attention sinks) and the most recent ones.
      assert.equal(h.ranges[0][0], 0);
      assert.equal(h.ranges[h.ranges.length - 1][1], view.tokens_seen);
    }
  }
});

test("errors arrive as the client's typed exceptions", async () => {
  const tooLong = { role: 'user' as const, content: 'x'.repeat(400) };
  await assert.rejects(
    client.chat.completions.create({ model: 'tiny', messages: [tooLong] }),
    (e: unknown) =>
      e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded' && e.param === 'messages',
  );
  await assert.rejects(
    client.chat.completions.create({ model: 'tiny', messages, kvsieve: { press: 'nope' } } as {
      model: string;
      messages: typeof messages;
    }),
    (e: unknown) =>
      e instanceof OpenAI.BadRequestError && e.param === 'kvsieve.press' && /unknown press/.test(e.message),
  );
  await assert.rejects(
    client.chat.completions.create({ model: 'tiny', messages, temperature: 7 }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'temperature',
  );
});
