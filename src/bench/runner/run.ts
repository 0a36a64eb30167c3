// Runs the grid on one model: each sample is generated once and every press runs on it, greedily, under one
// protocol (kvpress's): the context is prefilled and compressed (chunk by chunk, or block by block, as the
// press does), query-agnostic or query-aware (the press sees the question before the context's compression);
// then the question and the answer go in with compression off, so no press evicts them. The kept fraction is
// measured right after the context's compression. With --match-kept each press first gets the ratio that
// makes it keep the target fraction (match.ts). Finished samples go to results.jsonl; samples already there
// are skipped, so an interrupted run resumes where it stopped.
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import type { Context } from '../../generate/context.js';
import type { Model } from '../../model/model.js';
import { parsePressText, pressFromSpec } from '../../presses/index.js';
import { getTask, type TaskContext, type TaskGenerator, type TaskSample } from '../tasks/index.js';
import { type SplitTokens, splitTokens } from '../tasks/types.js';
import { expandGrid, type GridSpec, type Job, type SampleSpec, sameSample } from './grid.js';
import { type KeptView, keptMasks, loadKept, runLabel, saveKept, tokenTexts } from './kept.js';
import { KeptMatcher } from './match.js';
import { modelIdentity } from './model-id.js';
import { formatLength } from './spec.js';
import { ResultStore, type SampleRecord } from './store.js';

export interface BenchOptions extends GridSpec {
  /** Where results.jsonl and kept.json go (the directory must exist). */
  outDir: string;
  /** Haystack text, bAbI directory, LongBench rows: what the tasks need. */
  taskContext?: TaskContext;
  /** Which distinct sample, in run order, the kept-token view records (default 0, the first). */
  showSample?: number;
  signal?: AbortSignal;
  /** After each sample run in this call: how many of `total` (the ones not done before) are done. */
  onProgress?: (done: number, total: number) => void;
}

export interface BenchResult {
  /** The results of this grid (results.jsonl may hold more, from other grids written to the same place). */
  records: SampleRecord[];
  /** Jobs in the grid, already done before this call, and finished in it. */
  total: number;
  skipped: number;
  ran: number;
  interrupted: boolean;
  /** The kept-token view of the shown sample (its runs so far). */
  kept: KeptView;
}

interface Prepared {
  spec: SampleSpec;
  sample: TaskSample;
  split: SplitTokens;
  promptHash: string;
}

export const RESULTS_FILE = 'results.jsonl';
export const KEPT_FILE = 'kept.json';

export async function runBench(model: Model, o: BenchOptions): Promise<BenchResult> {
  const n = model.config.contextLength;
  for (const len of o.lengths)
    if (len > n)
      throw new RangeError(`--length ${formatLength(len)} exceeds the model's context of ${n} tokens`);
  for (const press of o.presses)
    if (press !== 'full') pressFromSpec({ ...parsePressText(press), ratio: o.ratios[0] });
  const tasks = new Map<string, TaskGenerator>(o.tasks.map((t) => [t, getTask(t, o.taskContext)]));
  const modelId = modelIdentity(model.path);
  const jobs = expandGrid(o, modelId, (t) => tasks.get(t)?.usesDepth === true);

  // Every (task, length) must make a prompt that fits: fail now, not an hour into the run.
  const checked = new Set<string>();
  const prepare = (spec: SampleSpec): Prepared => {
    const task = tasks.get(spec.task) as TaskGenerator;
    let sample: TaskSample;
    try {
      sample = task.generate(model.tokenizer, {
        tokens: spec.length,
        depth: spec.depth ?? undefined,
        seed: spec.seed,
      });
    } catch (e) {
      throw new RangeError(`${spec.task} at ${formatLength(spec.length)}: ${(e as Error).message}`);
    }
    const split = splitTokens(model.tokenizer, sample);
    const total = split.context.length + split.question.length;
    if (total >= n)
      throw new RangeError(
        `${spec.task} at ${formatLength(spec.length)} makes a ${total}-token prompt; the model's context is ${n}`,
      );
    const promptHash = createHash('sha256').update(sample.prompt).digest('hex').slice(0, 16);
    return { spec, sample, split, promptHash };
  };
  for (const j of jobs) {
    const k = `${j.task}\n${j.length}`;
    if (!checked.has(k)) prepare(j);
    checked.add(k);
  }

  const distinct = jobs.filter((j, i) => i === 0 || !sameSample(j, jobs[i - 1]));
  const show = o.showSample ?? 0;
  if (!(Number.isInteger(show) && show >= 0 && show < distinct.length))
    throw new RangeError(
      `--show-sample must be 0..${distinct.length - 1} (the samples of this run, in order)`,
    );
  const shown = distinct[show];

  const store = new ResultStore(join(o.outDir, RESULTS_FILE));
  const keptPath = join(o.outDir, KEPT_FILE);
  const shownPrepared = prepare(shown);
  const kept =
    loadKept(keptPath, modelId, shownPrepared.promptHash) ?? newKept(modelId, shownPrepared, model);
  // A sample of the shown prompt runs again if its kept positions are missing (e.g. kept.json was deleted).
  const todo = jobs.filter((j) => !store.has(j.key) || (sameSample(j, shown) && !kept.runs[runLabel(j)]));
  const result: BenchResult = {
    records: [],
    total: jobs.length,
    skipped: jobs.length - todo.length,
    ran: 0,
    interrupted: false,
    kept,
  };
  let current: Prepared | undefined;
  const matcher = o.matchKept ? new KeptMatcher(model) : undefined;
  try {
    for (const job of todo) {
      if (o.signal?.aborted) break;
      if (current === undefined || !sameSample(current.spec, job)) current = prepare(job);
      const task = tasks.get(job.task) as TaskGenerator;
      const out = await runJob(model, job, current, sameSample(job, shown), o.signal, matcher);
      if (out === undefined) break;
      if (!store.has(job.key))
        store.append({
          key: job.key,
          modelId,
          modelName: basename(model.path),
          family: task.family,
          ...out.record,
          score: task.score(out.record.answer, current.sample),
        });
      if (out.masks !== undefined) {
        const { press, ratio, mode, matchKept } = job;
        kept.runs[runLabel(job)] = {
          press,
          ratio,
          mode,
          ...(matchKept ? { matchKept } : {}),
          keptFraction: out.record.keptFraction,
          masks: out.masks,
        };
        saveKept(keptPath, kept);
      }
      result.ran++;
      o.onProgress?.(result.ran, todo.length);
    }
  } finally {
    await matcher?.close();
  }
  result.interrupted = result.ran < todo.length;
  const keys = new Set(jobs.map((j) => j.key));
  result.records = store.records.filter((r) => keys.has(r.key));
  return result;
}

function newKept(modelId: string, p: Prepared, model: Model): KeptView {
  const { nLayers, nKvHeads } = model.config;
  return {
    modelId,
    sample: { ...p.spec, promptHash: p.promptHash },
    nLayers,
    nKvHeads,
    tokens: tokenTexts(model.tokenizer, p.split.context),
    runs: {},
  };
}

type RunOut = {
  record: Omit<SampleRecord, 'key' | 'modelId' | 'modelName' | 'family' | 'score'>;
  masks?: string[][];
};

async function runJob(
  model: Model,
  job: Job,
  p: Prepared,
  capture: boolean,
  signal: AbortSignal | undefined,
  matcher: KeptMatcher | undefined,
): Promise<RunOut | undefined> {
  const spec = job.press === 'full' ? undefined : parsePressText(job.press);
  let pressRatio = job.ratio;
  if (spec && job.matchKept && matcher) {
    const q = job.mode === 'aware' ? p.split.question.length : 0;
    pressRatio = (await matcher.calibrate(spec, 1 / job.ratio, p.split.context.length, q, job.mode)).ratio;
  }
  const ctx: Context = model.createContext({
    press: spec && { ...spec, ratio: pressRatio },
    cacheType: { k: job.cacheType, v: job.cacheType },
  });
  try {
    const t0 = performance.now();
    const question = job.mode === 'aware' ? p.split.question : undefined;
    if ((await ctx.prefill(p.split.context, { question, signal })) === undefined) return undefined;
    const t1 = performance.now();
    const keptFraction = ctx.keptFraction;
    const kvBytes = ctx.cache.bytes;
    const masks = capture ? keptMasks(ctx, p.split.context.length) : undefined;
    const t2 = performance.now();
    let answer = '';
    let generated = 0;
    // The question and the answer are never evicted (kvpress's protocol): compression is off from here on, so
    // no press compresses again with the question in view (which would make every run query-aware) or drops
    // question tokens while they go in. The exception is a press made to compress while generating (kvpress's
    // DecodingPress): evicting as the answer grows is what it does, so it keeps compressing there.
    const decodes = ctx.press?.compressesGenerated === true;
    // keptTrace[i]: the kept fraction with i generated tokens in the cache (a token goes in after it is read).
    const keptTrace: number[] = [];
    for await (const t of ctx.generate(p.split.question, {
      maxTokens: p.sample.maxNewTokens,
      temperature: 0,
      signal,
      compress: false,
      compressGenerated: decodes,
    })) {
      answer += t.text;
      if (t.id >= 0) {
        keptTrace.push(Math.round(ctx.keptFraction * 1e5) / 1e5);
        generated++;
      }
    }
    if (ctx.finishReason === 'abort') return undefined;
    if (!decodes) checkProtocol(ctx, p.split.context.length);
    const { task, press, ratio, mode, length, depth, index, seed, matchKept, cacheType } = job;
    return {
      record: {
        task,
        press,
        ratio,
        mode,
        cacheType,
        ...(matchKept ? { matchKept } : {}),
        ...(spec ? { pressRatio } : {}),
        length,
        depth,
        needleDepth: p.sample.depth ?? null,
        sample: index,
        seed,
        promptHash: p.promptHash,
        promptTokens: p.split.context.length + p.split.question.length,
        contextTokens: p.split.context.length,
        answer,
        expected: p.sample.answers,
        keptFraction,
        kvBytes,
        peakKvBytes: ctx.peakCacheBytes,
        prefillMs: t1 - t0,
        decodeMs: performance.now() - t2,
        generatedTokens: generated,
        keptTrace,
      },
      masks,
    };
  } finally {
    ctx.dispose();
  }
}

/**
 * The protocol's promise, checked on every run: each (layer, KV head) still holds every question and answer
 * token (compression was off once the context was compressed). A press that broke it would be a bug here.
 */
function checkProtocol(ctx: Context, contextTokens: number): void {
  const { nLayers, nKvHeads } = ctx.model.config;
  const fed = ctx.tokens.length - contextTokens;
  for (let l = 0; l < nLayers; l++)
    for (let h = 0; h < nKvHeads; h++) {
      const held = ctx.cache.positions(l, h).filter((pos) => pos >= contextTokens).length;
      if (held !== fed)
        throw new Error(
          `bench protocol broken by ${ctx.press?.name}: layer ${l} head ${h} holds ${held} of ${fed} question/answer tokens`,
        );
    }
}
