// The task registry: names as `kvsieve bench` takes them, each mapped to a generator.
//   passkey, passkey:<digits>            Mohtashami & Jaggi passkey (5 digits; LagKV also uses 16, 32, 64)
//   recite, recite:<digits>              the passkey prompt with a 64-digit key repeated back: a long answer
//   niah_single_1..3, niah_multikey_1..3, niah_multivalue, niah_multiquery, vt, cwe    RULER
//   babilong:qa1 .. babilong:qa10        BABILong-style (needs the bAbI directory)
//   longbench:<dataset>                  LongBench from a JSONL file the user passes
import { type Haystack, loadHaystack } from '../text/haystack.js';
import { babilongTask } from './babilong.js';
import { cweTask } from './cwe.js';
import { LONGBENCH_DATASETS, type LongBenchRow, loadLongBench, longbenchTask } from './longbench.js';
import { NIAH_TASKS, niahTask } from './niah.js';
import { passkeyTask } from './passkey.js';
import { reciteTask } from './recite.js';
import type { TaskGenerator } from './types.js';
import { vtTask } from './vt.js';

export type { GenerateOptions, TaskFamily, TaskGenerator, TaskSample, TokenCounter } from './types.js';

export interface TaskContext {
  /** Background text for the essay haystack, CWE words and BABILong (default: Moby-Dick, see text/haystack). */
  haystack?: Haystack;
  /** A text file to use as the haystack instead. */
  haystackFile?: string;
  /** Directory of bAbI qa*_{train,test}.txt files, for babilong:*. */
  babiDir?: string;
  /** LongBench JSONL file, for longbench:*. */
  longbenchFile?: string;
  /** Or the rows themselves. */
  longbenchRows?: LongBenchRow[];
}

export const PASSKEY_TASKS = ['passkey', 'passkey:16', 'passkey:32', 'passkey:64'];
/** Long answers, for compression while generating. */
export const LONG_ANSWER_TASKS = ['recite'];
export const RULER_TASKS = [...Object.keys(NIAH_TASKS), 'vt', 'cwe'];
export const BABILONG_TASKS = Array.from({ length: 10 }, (_, i) => `babilong:qa${i + 1}`);
export const LONGBENCH_TASKS = Object.keys(LONGBENCH_DATASETS).map((d) => `longbench:${d}`);
/** Every name `getTask` knows (passkey takes any digit count; LongBench-E sets add `_e`). */
export const TASK_NAMES = [
  ...PASSKEY_TASKS,
  ...LONG_ANSWER_TASKS,
  ...RULER_TASKS,
  ...BABILONG_TASKS,
  ...LONGBENCH_TASKS,
];

export function getTask(name: string, ctx: TaskContext = {}): TaskGenerator {
  const haystack = () => ctx.haystack ?? loadHaystack(ctx.haystackFile);
  if (name === 'passkey') return passkeyTask(5);
  const pk = /^passkey:(\d+)$/.exec(name);
  if (pk !== null) return passkeyTask(Number(pk[1]));
  if (name === 'recite') return reciteTask();
  const rc = /^recite:(\d+)$/.exec(name);
  if (rc !== null) return reciteTask(Number(rc[1]));
  const niah = NIAH_TASKS[name];
  if (niah !== undefined) return niahTask(name, niah, niah.haystack === 'essay' ? haystack() : undefined);
  if (name === 'vt') return vtTask();
  if (name === 'cwe') return cweTask(haystack());
  const bl = /^babilong:qa(\d+)$/.exec(name);
  if (bl !== null) {
    if (ctx.babiDir === undefined) throw new Error(`${name} needs the bAbI directory (qa*_test.txt files)`);
    return babilongTask(Number(bl[1]), { babiDir: ctx.babiDir, haystack: haystack() });
  }
  const lb = /^longbench:(.+)$/.exec(name);
  if (lb !== null) {
    const rows =
      ctx.longbenchRows ?? (ctx.longbenchFile !== undefined ? loadLongBench(ctx.longbenchFile) : undefined);
    if (rows === undefined) throw new Error(`${name} needs a LongBench JSONL file`);
    return longbenchTask(lb[1], rows);
  }
  throw new RangeError(
    `unknown task "${name}" (known: ${TASK_NAMES.join(', ')}, passkey:<digits>, recite:<digits>)`,
  );
}
