// OpenAI's response objects for the two generation endpoints, whole and as stream chunks. Both carry a
// `kvsieve` field (press, kept fraction, KV bytes) that OpenAI clients pass through untouched.

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface KvsieveStats {
  press: string | null;
  ratio: number | null;
  budget: number | null;
  kept_fraction: number;
  kv_bytes: number;
  kept_tokens: number;
  tokens_seen: number;
  /** Id for `GET /v1/kvsieve/cache/:id`: the same as the response's id. */
  cache_id: string;
}

export type OpenAiFinishReason = 'stop' | 'length';

export interface ResponseShape {
  /** Chunks before any text (chat announces the assistant role). */
  opening(): unknown[];
  delta(text: string): unknown;
  /** The last chunk with choices: its finish_reason and the kvsieve stats. */
  finish(reason: OpenAiFinishReason, stats: KvsieveStats): unknown;
  /** The chunk `stream_options.include_usage` asks for: no choices, only usage. */
  usage(usage: Usage): unknown;
  whole(text: string, reason: OpenAiFinishReason, usage: Usage, stats: KvsieveStats): unknown;
}

interface Ids {
  id: string;
  model: string;
  created: number;
  /** With include_usage, OpenAI sends `usage: null` on every chunk before the usage chunk. */
  includeUsage: boolean;
}

function chunkBase(ids: Ids, object: string): Record<string, unknown> {
  return {
    id: ids.id,
    object,
    created: ids.created,
    model: ids.model,
    system_fingerprint: null,
    ...(ids.includeUsage ? { usage: null } : {}),
  };
}

export function chatShape(ids: Ids): ResponseShape {
  const chunk = (delta: Record<string, string>, finish: OpenAiFinishReason | null) => ({
    ...chunkBase(ids, 'chat.completion.chunk'),
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  return {
    opening: () => [chunk({ role: 'assistant', content: '' }, null)],
    delta: (text) => chunk({ content: text }, null),
    finish: (reason, stats) => ({ ...chunk({}, reason), kvsieve: stats }),
    usage: (usage) => ({ ...chunkBase(ids, 'chat.completion.chunk'), choices: [], usage }),
    whole: (text, reason, usage, stats) => ({
      id: ids.id,
      object: 'chat.completion',
      created: ids.created,
      model: ids.model,
      system_fingerprint: null,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null },
          logprobs: null,
          finish_reason: reason,
        },
      ],
      usage,
      kvsieve: stats,
    }),
  };
}

export function completionShape(ids: Ids): ResponseShape {
  const chunk = (text: string, finish: OpenAiFinishReason | null) => ({
    ...chunkBase(ids, 'text_completion'),
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
  });
  return {
    opening: () => [],
    delta: (text) => chunk(text, null),
    finish: (reason, stats) => ({ ...chunk('', reason), kvsieve: stats }),
    usage: (usage) => ({ ...chunkBase(ids, 'text_completion'), choices: [], usage }),
    whole: (text, reason, usage, stats) => ({
      id: ids.id,
      object: 'text_completion',
      created: ids.created,
      model: ids.model,
      system_fingerprint: null,
      choices: [{ index: 0, text, logprobs: null, finish_reason: reason }],
      usage,
      kvsieve: stats,
    }),
  };
}
