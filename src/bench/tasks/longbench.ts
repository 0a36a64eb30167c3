// LongBench (Bai et al. 2023; THUDM/LongBench v1: config/dataset2prompt.json, config/dataset2maxlen.json,
// pred.py, eval.py, metrics.py) from the user's own JSONL files (one {"input", "context", "answers",
// "all_classes", "length", "_id", ...} object a line, as the HF dataset THUDM/LongBench ships them).
// A prompt longer than max_length loses its middle: the first and the last max_length/2 tokens are decoded and
// joined, as pred.py does. Scoring is eval.py's: the best score over the reference answers, with the
// prediction cut to its first line for the few-shot sets. The Chinese sets that need jieba word segmentation
// (multifieldqa_zh, dureader, vcsum) are not offered.
import { readFileSync } from 'node:fs';
import { classificationScore } from '../score/classification.js';
import { codeSimScore } from '../score/code-sim.js';
import { countScore } from '../score/count.js';
import { qaF1 } from '../score/qa-f1.js';
import { retrievalScore, retrievalZhScore } from '../score/retrieval.js';
import { rougeL } from '../score/rouge.js';
import { checkOptions, makeSample, type TaskGenerator, type TokenCounter } from './types.js';

export interface LongBenchRow {
  input: string;
  context: string;
  answers: string[];
  all_classes?: string[] | null;
  length?: number;
  dataset?: string;
  language?: string;
  _id?: string;
}

type Metric = 'qa_f1' | 'rouge' | 'classification' | 'retrieval' | 'retrieval_zh' | 'count' | 'code_sim';

interface Dataset {
  template: string;
  maxNewTokens: number;
  metric: Metric;
}

const QA_PASSAGES =
  'Answer the question based on the given passages. Only give me the answer and do not output any other words.\n\n' +
  'The following are given passages.\n{context}\n\nAnswer the question based on the given passages. Only give me ' +
  'the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:';
const UNANSWERABLE =
  'If the question cannot be answered based on the information in the article, write "unanswerable". If the ' +
  'question is a yes/no question, answer "yes", "no", or "unanswerable". Do not provide any explanation.';

/** dataset2prompt.json, dataset2maxlen.json and eval.py's dataset2metric (typos such as "asconcisely" kept). */
export const LONGBENCH_DATASETS: Record<string, Dataset> = {
  narrativeqa: {
    template:
      'You are given a story, which can be either a novel or a movie script, and a question. Answer the question ' +
      'asconcisely as you can, using a single phrase if possible. Do not provide any explanation.\n\nStory: ' +
      '{context}\n\nNow, answer the question based on the story asconcisely as you can, using a single phrase if ' +
      'possible. Do not provide any explanation.\n\nQuestion: {input}\n\nAnswer:',
    maxNewTokens: 128,
    metric: 'qa_f1',
  },
  qasper: {
    template:
      'You are given a scientific article and a question. Answer the question as concisely as you can, using a ' +
      `single phrase or sentence if possible. ${UNANSWERABLE}\n\nArticle: {context}\n\n Answer the question based ` +
      `on the above article as concisely as you can, using a single phrase or sentence if possible. ${UNANSWERABLE}` +
      '\n\nQuestion: {input}\n\nAnswer:',
    maxNewTokens: 128,
    metric: 'qa_f1',
  },
  multifieldqa_en: {
    template:
      'Read the following text and answer briefly.\n\n{context}\n\nNow, answer the following question based on the ' +
      'above text, only give me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:',
    maxNewTokens: 64,
    metric: 'qa_f1',
  },
  hotpotqa: { template: QA_PASSAGES, maxNewTokens: 32, metric: 'qa_f1' },
  '2wikimqa': { template: QA_PASSAGES, maxNewTokens: 32, metric: 'qa_f1' },
  musique: { template: QA_PASSAGES, maxNewTokens: 32, metric: 'qa_f1' },
  gov_report: {
    template:
      'You are given a report by a government agency. Write a one-page summary of the report.\n\nReport:\n' +
      '{context}\n\nNow, write a one-page summary of the report.\n\nSummary:',
    maxNewTokens: 512,
    metric: 'rouge',
  },
  qmsum: {
    template:
      'You are given a meeting transcript and a query containing a question or instruction. Answer the query in ' +
      'one or more sentences.\n\nTranscript:\n{context}\n\nNow, answer the query based on the above meeting ' +
      'transcript in one or more sentences.\n\nQuery: {input}\nAnswer:',
    maxNewTokens: 512,
    metric: 'rouge',
  },
  multi_news: {
    template:
      'You are given several news passages. Write a one-page summary of all news. \n\nNews:\n{context}\n\nNow, ' +
      'write a one-page summary of all the news.\n\nSummary:',
    maxNewTokens: 512,
    metric: 'rouge',
  },
  trec: {
    template:
      'Please determine the type of the question below. Here are some examples of questions.\n\n{context}\n{input}',
    maxNewTokens: 64,
    metric: 'classification',
  },
  triviaqa: {
    template:
      'Answer the question based on the given passage. Only give me the answer and do not output any other ' +
      'words. The following are some examples.\n\n{context}\n\n{input}',
    maxNewTokens: 32,
    metric: 'qa_f1',
  },
  samsum: {
    template:
      'Summarize the dialogue into a few short sentences. The following are some examples.\n\n{context}\n\n{input}',
    maxNewTokens: 128,
    metric: 'rouge',
  },
  lsht: {
    template: '请判断给定新闻的类别，下面是一些例子。\n\n{context}\n{input}',
    maxNewTokens: 64,
    metric: 'classification',
  },
  passage_count: {
    template:
      'There are some paragraphs below sourced from Wikipedia. Some of them may be duplicates. Please carefully ' +
      'read these paragraphs and determine how many unique paragraphs there are after removing duplicates. In ' +
      'other words, how many non-repeating paragraphs are there in total?\n\n{context}\n\nPlease enter the final ' +
      'count of unique paragraphs after removing duplicates. The output format should only contain the number, ' +
      'such as 1, 2, 3, and so on.\n\nThe final answer is: ',
    maxNewTokens: 32,
    metric: 'count',
  },
  passage_retrieval_en: {
    template:
      'Here are 30 paragraphs from Wikipedia, along with an abstract. Please determine which paragraph the ' +
      'abstract is from.\n\n{context}\n\nThe following is an abstract.\n\n{input}\n\nPlease enter the number of ' +
      'the paragraph that the abstract is from. The answer format must be like "Paragraph 1", "Paragraph 2", ' +
      'etc.\n\nThe answer is: ',
    maxNewTokens: 32,
    metric: 'retrieval',
  },
  passage_retrieval_zh: {
    template:
      '以下是若干段落文字，以及其中一个段落的摘要。请确定给定的摘要出自哪一段。\n\n{context}\n\n下面是一个摘要\n\n' +
      '{input}\n\n请输入摘要所属段落的编号。答案格式必须是"段落1"，"段落2"等格式\n\n答案是：',
    maxNewTokens: 32,
    metric: 'retrieval_zh',
  },
  lcc: {
    template: 'Please complete the code given below. \n{context}Next line of code:\n',
    maxNewTokens: 64,
    metric: 'code_sim',
  },
  'repobench-p': {
    template: 'Please complete the code given below. \n{context}{input}Next line of code:\n',
    maxNewTokens: 64,
    metric: 'code_sim',
  },
};

/** pred.py/eval.py: these get no chat template, and their prediction is cut to its first line. */
export const LONGBENCH_NO_CHAT = new Set(['trec', 'triviaqa', 'samsum', 'lsht', 'lcc', 'repobench-p']);
const FIRST_LINE = new Set(['trec', 'triviaqa', 'samsum', 'lsht']);
/** The `model2maxlen` LongBench uses for a 4k-context model. */
export const LONGBENCH_DEFAULT_MAX_LENGTH = 3500;

export function parseLongBenchJsonl(text: string, source = 'LongBench file'): LongBenchRow[] {
  const rows: LongBenchRow[] = [];
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(`${source}:${i + 1}: not JSON (${(e as Error).message})`);
    }
    const r = v as Partial<LongBenchRow>;
    if (typeof r.input !== 'string' || typeof r.context !== 'string' || !Array.isArray(r.answers))
      throw new Error(`${source}:${i + 1}: expected "input" and "context" strings and an "answers" list`);
    rows.push(r as LongBenchRow);
  }
  return rows;
}

export function loadLongBench(path: string): LongBenchRow[] {
  return parseLongBenchJsonl(readFileSync(path, 'utf8'), path);
}

/** One metric, one reference (metrics.py). */
export function longbenchMetric(
  metric: Metric,
  prediction: string,
  answer: string,
  allClasses: readonly string[],
): number {
  switch (metric) {
    case 'qa_f1':
      return qaF1(prediction, answer);
    case 'rouge':
      return rougeL(prediction, answer);
    case 'classification':
      return classificationScore(prediction, answer, allClasses);
    case 'retrieval':
      return retrievalScore(prediction, answer);
    case 'retrieval_zh':
      return retrievalZhScore(prediction, answer);
    case 'count':
      return countScore(prediction, answer);
    case 'code_sim':
      return codeSimScore(prediction, answer);
  }
}

/** eval.py scorer for one prediction: first line for the few-shot sets, then the best over the answers. */
export function longbenchScore(
  dataset: string,
  prediction: string,
  answers: readonly string[],
  allClasses: readonly string[] = [],
): number {
  const d = LONGBENCH_DATASETS[baseName(dataset)];
  if (d === undefined) throw new RangeError(`LongBench dataset ${dataset} is not supported`);
  const pred = FIRST_LINE.has(baseName(dataset)) ? prediction.replace(/^\n+/, '').split('\n')[0] : prediction;
  let best = 0;
  for (const a of answers) best = Math.max(best, longbenchMetric(d.metric, pred, a, allClasses));
  return best;
}

/** LongBench-E sets ("hotpotqa_e") share the prompts and metrics of their base set. */
function baseName(dataset: string): string {
  return dataset.endsWith('_e') ? dataset.slice(0, -2) : dataset;
}

function format(template: string, row: LongBenchRow): string {
  return template.replace(/\{(context|input)\}/g, (_, k: string) =>
    k === 'context' ? row.context : row.input,
  );
}

/** pred.py's middle truncation: keep the first and last `maxLength / 2` tokens. */
export function truncateMiddle(
  tok: TokenCounter,
  prompt: string,
  maxLength: number,
): { text: string; head: string; fullTokens: number } | undefined {
  const ids = tok.encode(prompt, { addSpecial: true });
  if (ids.length <= maxLength) return undefined;
  if (tok.decode === undefined) throw new Error('LongBench truncation needs a tokenizer that can decode');
  const half = Math.floor(maxLength / 2);
  const head = tok.decode(ids.slice(0, half), { skipSpecial: true });
  return {
    text: head + tok.decode(ids.slice(ids.length - half), { skipSpecial: true }),
    head,
    fullTokens: ids.length,
  };
}

export function longbenchTask(dataset: string, rows: readonly LongBenchRow[]): TaskGenerator {
  const base = baseName(dataset);
  const d = LONGBENCH_DATASETS[base];
  if (d === undefined)
    throw new RangeError(
      `LongBench dataset "${dataset}" is not supported (known: ${Object.keys(LONGBENCH_DATASETS).join(', ')}; ` +
        'multifieldqa_zh, dureader and vcsum need jieba segmentation)',
    );
  if (rows.length === 0) throw new RangeError(`LongBench ${dataset}: no rows`);
  const name = `longbench:${dataset}`;
  const cut = d.template.indexOf('{context}') + '{context}'.length;
  return {
    name,
    family: 'longbench',
    description: `LongBench ${dataset} (${rows.length} rows from file), metric ${d.metric}`,
    usesDepth: false,
    maxNewTokens: d.maxNewTokens,
    generate(tok, o) {
      checkOptions(o);
      const index = o.index ?? ((o.seed % rows.length) + rows.length) % rows.length;
      const row = rows[index];
      if (row === undefined) throw new RangeError(`${name}: no row ${index} (${rows.length} rows)`);
      let prompt = format(d.template, row);
      let questionPart = format(d.template.slice(cut), row);
      const t = truncateMiddle(tok, prompt, o.tokens);
      if (t !== undefined) {
        prompt = t.text;
        // The question normally survives in the kept tail; if even that was cut, the tail is the question part.
        if (!prompt.endsWith(questionPart)) questionPart = prompt.slice(t.head.length);
      }
      const contextPart = prompt.slice(0, prompt.length - questionPart.length);
      return makeSample(tok, {
        task: name,
        id: row._id ?? `${name}/${index}`,
        context: row.context,
        question: row.input,
        contextPart,
        questionPart,
        answerPrefix: '',
        answers: row.answers,
        maxNewTokens: d.maxNewTokens,
        meta: {
          dataset,
          index,
          metric: d.metric,
          allClasses: row.all_classes ?? [],
          length: row.length,
          truncated: t !== undefined,
          noChatTemplate: LONGBENCH_NO_CHAT.has(base),
          fullTokens: t?.fullTokens,
        },
      });
    },
    score(output, sample) {
      const classes = (sample.meta?.allClasses as string[] | undefined) ?? [];
      return longbenchScore(dataset, output, sample.answers, classes);
    },
  };
}
