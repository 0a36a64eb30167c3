import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { writeReport } from '../../bench/report/index.js';
import { summarize } from '../../bench/report/summary.js';
import { summaryTable } from '../../bench/report/table.js';
import { SEED_OFFSET } from '../../bench/runner/grid.js';
import { RESULTS_FILE, runBench } from '../../bench/runner/run.js';
import {
  formatLength,
  parseDepths,
  parseLengths,
  parseModes,
  parseNames,
  parsePresses,
  parseRatios,
  parseTasks,
} from '../../bench/runner/spec.js';
import { getTask, type TaskContext } from '../../bench/tasks/index.js';
import { isKvTypeName, KV_TYPE_NAMES } from '../../cache/cache-type.js';
import { pressNames } from '../../presses/index.js';
import { UsageError } from '../errors.js';
import { loadFromArgs } from '../load.js';
import { MODEL_HELP, modelOptions, num } from '../options.js';
import { ProgressBar } from '../progress.js';

export const BENCH_HELP = `kvsieve bench [options]

Runs long-context tasks with KV-cache presses at several compression ratios and prompt lengths. One
protocol for every press: the context is compressed (chunk by chunk where the press does that), then the
question and the answer go in uncompressed; every table shows the measured kept fraction of the context.
Every finished sample is appended to OUT/${RESULTS_FILE} (rerunning the same command skips what is done, so
an interrupted run resumes); at the end come a summary table, OUT/summary.csv and OUT/report.html (charts
and the kept-token view, one file that opens offline).

${MODEL_HELP}
      --task LIST         tasks (default passkey): passkey, passkey:DIGITS, recite, recite:DIGITS
                          (a 64-digit key repeated back: a long answer), niah_single_1..3,
                          niah_multikey_1..3, niah_multivalue, niah_multiquery, vt, cwe,
                          babilong:qa1..qa10, longbench:DATASET; ranges like babilong:qa1-qa5
      --press LIST        presses (default full,lagkv,streaming,snapkv), of:
                          ${pressNames().join(', ')}
                          with options as in kvsieve presses: full,lagkv:lag=64,sink=4,snapkv
      --ratio LIST        compression ratios (default 2,4,8); full runs once per sample
      --cache-type LIST   KV storage, keys and values alike (default f16): f32, f16, q8_0, q4_0; every press
                          runs with each (the table names non-default ones in brackets)
      --match-kept        equal budgets: each ratio R is a target, and every press runs at the ratio
                          that makes it keep 1/R of the context (searched on a stand-in model)
      --length LIST       target lengths in tokens, 1k = 1024 (default 1k): the prompt for passkey and
                          LongBench, prompt + answer + tokens to generate for RULER (as RULER sizes
                          max_seq_length), the context alone for BABILong
      --depth LIST        needle depths in [0, 1] for needle tasks (default: each task places its own)
      --samples N         samples per task, length and depth (default 5); sample i uses seed ${SEED_OFFSET} + i
      --mode MODE         agnostic (default): compress the context before the question is seen;
                          aware: the press sees the question first; both. laserkv always runs aware
  -o, --out DIR           where results go (default bench-results)
      --show-sample N     the sample (in run order, 0 = the first) whose kept tokens the report shows
      --babi DIR          bAbI directory (qa*_test.txt) for babilong:*
      --longbench FILE    LongBench JSONL file for longbench:*
      --haystack FILE     background text instead of the built-in one
      --json              print the summary as JSON instead of a table`;

export async function benchCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...modelOptions,
      task: { type: 'string' },
      press: { type: 'string' },
      ratio: { type: 'string' },
      'cache-type': { type: 'string' },
      length: { type: 'string' },
      depth: { type: 'string' },
      samples: { type: 'string' },
      mode: { type: 'string' },
      'match-kept': { type: 'boolean' },
      out: { type: 'string', short: 'o' },
      'show-sample': { type: 'string' },
      babi: { type: 'string' },
      longbench: { type: 'string' },
      haystack: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const taskContext: TaskContext = {
    babiDir: values.babi,
    longbenchFile: values.longbench,
    haystackFile: values.haystack,
  };
  // The parsers throw RangeErrors naming the option: reported as usage errors (exit 2).
  const ratios = parseRatios(values.ratio ?? '2,4,8');
  const spec = {
    tasks: parseTasks(values.task ?? 'passkey'),
    presses: parsePresses(values.press ?? 'full,lagkv,streaming,snapkv', ratios[0]),
    ratios,
    lengths: parseLengths(values.length ?? '1k'),
    depths: values.depth === undefined ? undefined : parseDepths(values.depth),
    modes: parseModes(values.mode ?? 'agnostic'),
    matchKept: values['match-kept'] === true,
    cacheTypes: parseNames('cache-type', values['cache-type'] ?? 'f16').map((t) => {
      if (!isKvTypeName(t))
        throw new UsageError(`--cache-type: "${t}" is not one of ${KV_TYPE_NAMES.join(', ')}`);
      return t;
    }),
  };
  for (const t of spec.tasks) {
    if (t.startsWith('babilong:') && values.babi === undefined)
      throw new UsageError(`--task ${t} needs --babi DIR (the bAbI qa*_test.txt files)`);
    if (t.startsWith('longbench:') && values.longbench === undefined)
      throw new UsageError(`--task ${t} needs --longbench FILE (LongBench JSONL)`);
    getTask(t, taskContext); // unknown names fail before the model loads
  }
  const samples = num(values, 'samples', { int: true, min: 1 }) ?? 5;
  const showSample = num(values, 'show-sample', { int: true, min: 0 }) ?? 0;
  const outDir = values.out ?? 'bench-results';
  if (existsSync(outDir) && !statSync(outDir).isDirectory())
    throw new UsageError(`--out ${outDir} is a file, not a directory`);
  mkdirSync(outDir, { recursive: true });

  const model = await loadFromArgs(values);
  const ac = new AbortController();
  const onSigint = () => {
    // A second Ctrl-C quits at once: every line written so far is whole (each is one write).
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
    process.stderr.write('\nstopping: the sample under way is dropped; rerun the same command to resume\n');
  };
  process.on('SIGINT', onSigint);
  try {
    const bar = new ProgressBar('bench');
    const run = await runBench(model, {
      ...spec,
      samples,
      showSample,
      outDir,
      taskContext,
      signal: ac.signal,
      onProgress: (done, total) => bar.update(done, total, ' samples'),
    });
    bar.done();
    const c = model.config;
    const note = run.interrupted
      ? `interrupted: ${run.skipped + run.ran} of ${run.total} samples done; rerun the same command to resume`
      : undefined;
    const files = writeReport(outDir, {
      records: run.records,
      kept: run.kept,
      model: `${basename(model.path)} (${c.name}, ${c.nLayers} layers, context ${c.contextLength})`,
      date: new Date().toISOString(),
      note,
    });
    const rows = summarize(run.records, ['task', 'press', 'mode', 'ratio']);
    if (values.json) {
      const out = { model: basename(model.path), total: run.total, ran: run.ran, skipped: run.skipped };
      process.stdout.write(
        `${JSON.stringify({ ...out, interrupted: run.interrupted, files: { results: `${outDir}/${RESULTS_FILE}`, ...files }, rows })}\n`,
      );
    } else {
      process.stdout.write(`${summaryTable(rows)}\n\n`);
      if (run.skipped > 0) process.stdout.write(`${run.skipped} samples were already done (skipped)\n`);
      if (note) process.stdout.write(`${note}\n`);
      const k = run.kept.sample;
      const shown = `${k.task} at ${formatLength(k.length)}${k.depth === null ? '' : ` depth ${k.depth}`}, sample ${k.index}; --show-sample picks another`;
      process.stdout.write(
        `results: ${outDir}/${RESULTS_FILE}\nsummary: ${files.csv}\nreport:  ${files.html} (kept tokens: ${shown})\n`,
      );
    }
    if (run.interrupted) process.exitCode = 130;
  } finally {
    process.off('SIGINT', onSigint);
    await model.close();
  }
}
