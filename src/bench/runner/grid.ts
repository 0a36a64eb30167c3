// The benchmark grid: tasks × lengths × depths × samples × (presses × ratios × modes), in an order that keeps
// one generated sample in use while every press runs on it. The full cache runs once per sample (its ratio is
// 1 whatever --ratio says), LASER-KV only query-aware (the paper's method; elsewhere it can stand in the
// prompt's last tokens for the question). A press is named with its options (`lagkv:lag=64`). With
// `matchKept`, a ratio R is a target: every press is run at whatever ratio makes it keep 1/R of the context.
import { createHash } from 'node:crypto';
import type { KvTypeName } from '../../cache/cache-type.js';
import type { Mode } from './spec.js';

/**
 * Sample i uses seed SEED_OFFSET + i: far from the small seeds the tests, the demo and hand runs use, so a
 * benchmark never scores a prompt someone tuned on. (The demo model's training data comes from Python's own
 * generators, never from these seeds.)
 */
export const SEED_OFFSET = 1_000_000;

/** Presses that only work query-aware. */
export const AWARE_ONLY = new Set(['laserkv']);

export interface GridSpec {
  tasks: string[];
  presses: string[];
  ratios: number[];
  lengths: number[];
  /** Needle depths for tasks that place one; undefined = each task's own placement. */
  depths?: number[];
  samples: number;
  modes: Mode[];
  /** Equal budgets: each ratio R is the kept fraction 1/R every press is calibrated to (--match-kept). */
  matchKept?: boolean;
  /** KV storage types, keys and values alike (--cache-type); default f16. Every press runs with each. */
  cacheTypes?: KvTypeName[];
}

/** One (task, length, depth, seed): the prompt every press of the grid is run on. */
export interface SampleSpec {
  task: string;
  length: number;
  /** The requested depth (null: the task's own, or a task without one). */
  depth: number | null;
  index: number;
  seed: number;
}

export interface Job extends SampleSpec {
  /** The press with its options, as `--press` names it (`lagkv:lag=64`). */
  press: string;
  /** The grid's ratio: the press's own, or with matchKept the target kept fraction 1/ratio. */
  ratio: number;
  mode: Mode;
  matchKept: boolean;
  /** How the cache stores keys and values. */
  cacheType: KvTypeName;
  /** Hash of the model's identity and every coordinate above: the resume key. */
  key: string;
}

export interface PressRun {
  press: string;
  ratio: number;
  mode: Mode;
  matchKept: boolean;
  cacheType: KvTypeName;
}

/** The name in a press text (`lagkv` of `lagkv:lag=64`). */
export function pressName(press: string): string {
  const colon = press.indexOf(':');
  return colon < 0 ? press : press.slice(0, colon);
}

/** The press/ratio/mode runs for one sample; `full` once, `laserkv` aware only, the rest per ratio and mode. */
export function pressRuns(spec: GridSpec): PressRun[] {
  const runs: PressRun[] = [];
  const matchKept = spec.matchKept === true;
  for (const cacheType of spec.cacheTypes ?? ['f16'])
    for (const press of spec.presses) {
      if (press === 'full') {
        runs.push({ press, ratio: 1, mode: spec.modes[0], matchKept: false, cacheType });
        continue;
      }
      const modes: Mode[] = AWARE_ONLY.has(pressName(press)) ? ['aware'] : spec.modes;
      for (const ratio of spec.ratios)
        for (const mode of modes) runs.push({ press, ratio, mode, matchKept, cacheType });
    }
  return runs;
}

/** Every job, samples outermost; `usesDepth(task)` says whether the depths apply to a task. */
export function expandGrid(spec: GridSpec, modelId: string, usesDepth: (task: string) => boolean): Job[] {
  const runs = pressRuns(spec);
  const jobs: Job[] = [];
  for (const task of spec.tasks)
    for (const length of spec.lengths) {
      const depths = spec.depths !== undefined && usesDepth(task) ? spec.depths : [null];
      for (const depth of depths)
        for (let index = 0; index < spec.samples; index++) {
          const sample: SampleSpec = { task, length, depth, index, seed: SEED_OFFSET + index };
          for (const run of runs)
            jobs.push({ ...sample, ...run, key: jobKey(modelId, { ...sample, ...run }) });
        }
    }
  return jobs;
}

export function jobKey(modelId: string, j: Omit<Job, 'key' | 'index'>): string {
  // Matched runs and cache storage add coordinates (the cache was f32 before it had a type, so f16 runs,
  // the default now, must not resume from those results).
  const coords: unknown[] = [modelId, j.task, j.press, j.ratio, j.length, j.depth, j.seed, j.mode];
  if (j.matchKept) coords.push('match-kept');
  coords.push(`cache:${j.cacheType}`);
  return createHash('sha256').update(JSON.stringify(coords)).digest('hex').slice(0, 20);
}

/** Same sample (the prompt), whatever press runs on it. */
export function sameSample(a: SampleSpec, b: SampleSpec): boolean {
  return a.task === b.task && a.length === b.length && a.depth === b.depth && a.seed === b.seed;
}
