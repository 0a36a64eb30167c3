// Renders the real chat templates in ../shared/templates and checks them against each model's documented
// prompt format, written out by hand.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CHATML_TEMPLATE,
  ChatTemplateError,
  chatTemplateFromMetadata,
  renderChat,
} from '../../src/chat/template.js';
import { Metadata } from '../../src/gguf/reader.js';

const TEMPLATE_DIR = fileURLToPath(new URL('../../../shared/templates/', import.meta.url));

const SYSTEM = { role: 'system', content: 'You are a helpful assistant.' };
const TURNS = [
  { role: 'user', content: 'Hello!' },
  { role: 'assistant', content: 'Hi! How can I help?' },
  { role: 'user', content: 'What is 2+2?' },
];
const CONVERSATION = [SYSTEM, ...TURNS];
const OPTS = { addGenerationPrompt: true, bosToken: '<BOS>', eosToken: '<EOS>' };

const LLAMA3 =
  '<BOS><|start_header_id|>system<|end_header_id|>\n\n' +
  'Cutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\n' +
  'You are a helpful assistant.<|eot_id|>' +
  '<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>' +
  '<|start_header_id|>assistant<|end_header_id|>\n\nHi! How can I help?<|eot_id|>' +
  '<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>' +
  '<|start_header_id|>assistant<|end_header_id|>\n\n';

/** Expected rendering of CONVERSATION per template file, or the error it must raise. */
const EXPECTED: Record<string, string | RegExp> = {
  'Qwen-Qwen2.5-7B-Instruct.jinja':
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' +
    '<|im_start|>user\nHello!<|im_end|>\n' +
    '<|im_start|>assistant\nHi! How can I help?<|im_end|>\n' +
    '<|im_start|>user\nWhat is 2+2?<|im_end|>\n' +
    '<|im_start|>assistant\n',
  'deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja':
    '<BOS>You are a helpful assistant.<｜User｜>Hello!<｜Assistant｜>Hi! How can I help?<｜end▁of▁sentence｜>' +
    '<｜User｜>What is 2+2?<｜Assistant｜><think>\n',
  'google-gemma-2-2b-it.jinja': /System role not supported/,
  'meta-llama-Llama-3.1-8B-Instruct.jinja': LLAMA3,
  'meta-llama-Llama-3.2-3B-Instruct.jinja': LLAMA3,
  'microsoft-Phi-3.5-mini-instruct.jinja':
    '<|system|>\nYou are a helpful assistant.<|end|>\n<|user|>\nHello!<|end|>\n' +
    '<|assistant|>\nHi! How can I help?<|end|>\n<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\n',
  // Mistral folds the system message into the last user turn.
  'mistralai-Mistral-Nemo-Instruct-2407.jinja':
    '<BOS>[INST]Hello![/INST]Hi! How can I help?<EOS>[INST]You are a helpful assistant.\n\nWhat is 2+2?[/INST]',
};

const shared = existsSync(TEMPLATE_DIR);
const skip = shared ? false : 'skipped: ../shared not present';
const read = (name: string) => readFileSync(TEMPLATE_DIR + name, 'utf8');

test('every shared template has an expected rendering', { skip }, () => {
  const files = readdirSync(TEMPLATE_DIR).filter((f) => f.endsWith('.jinja'));
  assert.deepEqual(files.sort(), Object.keys(EXPECTED).sort());
});

for (const [file, expected] of Object.entries(EXPECTED)) {
  test(`template ${file}`, { skip }, () => {
    // Llama 3.x print date_string, and 3.2 defaults it to today's date.
    const render = () =>
      renderChat(read(file), CONVERSATION, { ...OPTS, vars: { date_string: '01 Jan 2025' } });
    if (typeof expected === 'string') assert.equal(render(), expected);
    else assert.throws(render, (e: Error) => e instanceof ChatTemplateError && expected.test(e.message));
  });
}

test('Gemma 2 renders the conversation without a system turn, assistant as "model"', { skip }, () => {
  assert.equal(
    renderChat(read('google-gemma-2-2b-it.jinja'), TURNS, OPTS),
    '<BOS><start_of_turn>user\nHello!<end_of_turn>\n<start_of_turn>model\nHi! How can I help?<end_of_turn>\n' +
      '<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n',
  );
});

test('Mistral rejects roles that do not alternate', { skip }, () => {
  const twoUsers = [TURNS[0], { role: 'user', content: 'Again?' }];
  assert.throws(
    () => renderChat(read('mistralai-Mistral-Nemo-Instruct-2407.jinja'), twoUsers, OPTS),
    (e: Error) => e instanceof ChatTemplateError && /roles must alternate/.test(e.message),
  );
});

test('without a generation prompt, Phi-3.5 ends with eos_token', { skip }, () => {
  const out = renderChat(read('microsoft-Phi-3.5-mini-instruct.jinja'), TURNS.slice(0, 2), {
    ...OPTS,
    addGenerationPrompt: false,
  });
  assert.equal(out, '<|user|>\nHello!<|end|>\n<|assistant|>\nHi! How can I help?<|end|>\n<EOS>');
});

test('Qwen2.5 lists tools in its system prompt', { skip }, () => {
  const tools = [{ type: 'function', function: { name: 'add', parameters: {} } }];
  const out = renderChat(read('Qwen-Qwen2.5-7B-Instruct.jinja'), CONVERSATION, { ...OPTS, tools });
  assert.match(
    out,
    /<tools>\n\{"type": "function", "function": \{"name": "add", "parameters": \{\}\}\}\n<\/tools>/,
  );
});

test('chatTemplateFromMetadata reads tokenizer.chat_template, else falls back to ChatML', () => {
  const own = '{{ messages[0].content }}';
  assert.equal(chatTemplateFromMetadata(new Metadata(new Map([['tokenizer.chat_template', own]]))), own);
  const fallback = chatTemplateFromMetadata(new Metadata(new Map()));
  assert.equal(fallback, CHATML_TEMPLATE);
  assert.equal(
    renderChat(fallback, [SYSTEM, TURNS[0]], { addGenerationPrompt: true }),
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n',
  );
});

test('a template that does not parse is a ChatTemplateError', () => {
  assert.throws(
    () => renderChat('{% for m in messages %}', TURNS, { addGenerationPrompt: false }),
    (e: Error) => e instanceof ChatTemplateError && /does not parse/.test(e.message),
  );
});
