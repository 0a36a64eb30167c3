// A prompt worker: the model's tokenizer and chat template on their own thread, so that tokenizing a long
// prompt (seconds for megabytes of text) or mapping a long conversation to cache segments never holds up
// the thread that serves every other request. Built from the model's metadata exactly as Model.load builds
// them. Messages are PromptJob in, PromptReply out (prompt-workers.ts is the other side).
import { parentPort, workerData } from 'node:worker_threads';
import type { ChatMessage } from '../chat/template.js';
import { ChatTemplateError } from '../chat/template.js';
import { Metadata } from '../gguf/reader.js';
import type { GgufValue } from '../gguf/types.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import {
  chatParts,
  chatSegments,
  completionPrompt,
  type PromptModel,
  PromptTooLong,
  questionTokens,
  type Segment,
} from './prompt.js';

export interface PromptWorkerInit {
  metadata: ReadonlyMap<string, GgufValue>;
  chatTemplate: string;
}

export type PromptJob =
  | { id: number; kind: 'chat'; messages: ChatMessage[]; limit: number }
  | { id: number; kind: 'completion'; prompt: string; limit: number }
  | { id: number; kind: 'question'; question: string; limit: number }
  | { id: number; kind: 'segments'; messages: ChatMessage[]; promptTokens: number; tokensSeen: number };

export type PromptReply =
  /** `cut`: where the question starts in `ids` (chat), or ids.length when there is none. */
  | { id: number; ids: Int32Array; cut: number }
  | { id: number; segments: Segment[] }
  | { id: number; tooLong: { tokens: number; exact: boolean } }
  | { id: number; error: { template: boolean; message: string } };

function answer(model: PromptModel, job: PromptJob): PromptReply {
  try {
    if (job.kind === 'segments') {
      return { id: job.id, segments: chatSegments(model, job.messages, job.promptTokens, job.tokensSeen) };
    }
    if (job.kind === 'chat') {
      const parts = chatParts(model, job.messages, job.limit);
      return { id: job.id, ids: Int32Array.from(parts.ids), cut: parts.context.length };
    }
    const ids =
      job.kind === 'completion'
        ? completionPrompt(model, job.prompt, job.limit)
        : questionTokens(model, job.question, job.limit);
    return { id: job.id, ids: Int32Array.from(ids), cut: ids.length };
  } catch (e) {
    if (e instanceof PromptTooLong) return { id: job.id, tooLong: { tokens: e.tokens, exact: e.exact } };
    const message = e instanceof Error ? e.message : String(e);
    return { id: job.id, error: { template: e instanceof ChatTemplateError, message } };
  }
}

const port = parentPort;
if (port) {
  const init = workerData as PromptWorkerInit;
  const metadata = new Metadata(init.metadata);
  const model: PromptModel = { tokenizer: Tokenizer.fromMetadata(metadata), chatTemplate: init.chatTemplate };
  port.on('message', (job: PromptJob) => {
    const reply = answer(model, job);
    port.postMessage(reply, 'ids' in reply ? [reply.ids.buffer as ArrayBuffer] : []);
  });
  port.postMessage('ready');
}
