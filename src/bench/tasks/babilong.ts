// BABILong-style tasks (Kuratov et al. 2024; booydar/babilong, babilong/babilong_utils.py): a bAbI story's
// statements scattered, in order, at random sentence boundaries of long unrelated text, then BABILong's prompt
// and the question. The length (0k, 1k, ... 128k in the paper) counts the context only: statements plus
// background, in the model's tokens. The background is PG19 upstream; here Moby-Dick or the user's text,
// read from a random sentence on; its sentences under 10 tokens are skipped and the last one is cut to land on
// the length, as BABILong's SentenceSampler does.
import { BABILONG_LABELS, compareAnswers } from '../score/babilong.js';
import { joinedCost } from '../text/cost.js';
import { fillUnits, fitLength } from '../text/fill.js';
import { type Haystack, loadHaystack, sentenceAt } from '../text/haystack.js';
import { Rng } from '../text/random.js';
import { BABILONG_PROMPTS, type BabiSample, babilongPrompt, loadBabi } from './babi.js';
import {
  checkOptions,
  countTokens,
  type GenerateOptions,
  makeSample,
  type TaskGenerator,
  type TaskSample,
  type TokenCounter,
} from './types.js';

export const BABILONG_MAX_NEW_TOKENS = 20;
/** The context lengths BABILong reports. */
export const BABILONG_LENGTHS = [0, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072];

export interface BabilongOptions {
  /** Directory of the bAbI files (qa*_test.txt), e.g. ../shared/data/babi/en. */
  babiDir: string;
  split?: 'train' | 'test';
  haystack?: Haystack;
}

export function babilongTask(qa: number, opts: BabilongOptions): TaskGenerator {
  const key = `qa${qa}`;
  const prompt = BABILONG_PROMPTS[key];
  const labels = BABILONG_LABELS[key];
  if (prompt === undefined || labels === undefined)
    throw new RangeError(`babilong: no prompt for ${key} (qa1..qa10)`);
  const name = `babilong:${key}`;
  return {
    name,
    family: 'babilong',
    description: `BABILong ${key}: bAbI facts hidden in background text`,
    usesDepth: false,
    maxNewTokens: BABILONG_MAX_NEW_TOKENS,
    generate(tok, o) {
      const samples = loadBabi(opts.babiDir, qa, opts.split ?? 'test');
      return generateBabilong(tok, o, name, samples, opts.haystack ?? loadHaystack());
    },
    score: (output, s) => (compareAnswers(s.answers[0], output, s.question, labels) ? 1 : 0),
  };
}

function generateBabilong(
  tok: TokenCounter,
  o: GenerateOptions,
  name: string,
  samples: BabiSample[],
  h: Haystack,
): TaskSample {
  checkOptions(o, 0);
  const rng = new Rng(o.seed);
  // The same story for every length it fits in: draw one, walk forward to the first that fits.
  const first = Math.floor(rng.next() * samples.length);
  let pick: BabiSample | undefined;
  let index = -1;
  for (let k = 0; k < samples.length && pick === undefined; k++) {
    const i = (first + k) % samples.length;
    if (o.tokens === 0 || joinedCost(tok, ' ', samples[i].facts) <= o.tokens) {
      pick = samples[i];
      index = i;
    }
  }
  if (pick === undefined) throw new RangeError(`${name}: no bAbI story fits in ${o.tokens} tokens`);
  const facts = pick.facts;
  const start = Math.floor(rng.next() * h.sentences.length);
  // Where the statements go, as fractions of the background (BABILong: rng.choice over sentence slots, sorted).
  const slots = facts.map(() => rng.next()).sort((a, b) => a - b);
  const build = (budget: number) => {
    const bg = fillUnits(tok, (i) => sentenceAt(h, start + i), ' ', budget, { minUnitCost: 10 }).units;
    const pieces: string[] = [];
    let f = 0;
    for (let p = 0; p <= bg.length; p++) {
      while (f < facts.length && Math.floor(slots[f] * (bg.length + 1)) <= p) pieces.push(facts[f++]);
      if (p < bg.length) pieces.push(bg[p]);
    }
    return pieces.join(' ');
  };
  const key = name.slice('babilong:'.length);
  const render = (context: string) => babilongPrompt(BABILONG_PROMPTS[key], context, pick.question);
  const promptTokens = (context: string) => {
    const p = render(context);
    return countTokens(tok, p.contextPart + p.questionPart);
  };
  // The length targets the context, but one tokenization of the whole prompt per round serves both counts:
  // context tokens = prompt tokens - the prompt's own (give or take a token where they meet).
  const overhead = promptTokens('');
  const factTokens = joinedCost(tok, ' ', facts);
  const fit =
    o.tokens === 0
      ? { value: facts.join(' '), measured: promptTokens(facts.join(' ')) }
      : fitLength(o.tokens + overhead, o.tokens - factTokens, build, promptTokens);
  const context = fit.value;
  const { contextPart, questionPart } = render(context);
  return makeSample(
    tok,
    {
      task: name,
      id: `${name}/${o.tokens}/${o.seed}`,
      context,
      question: pick.question,
      contextPart,
      questionPart,
      answerPrefix: '',
      answers: [pick.answer],
      maxNewTokens: BABILONG_MAX_NEW_TOKENS,
      meta: {
        contextTokens: fit.measured - overhead,
        haystack: h.name,
        babiIndex: index,
        facts,
        references: pick.references,
      },
    },
    fit.measured,
  );
}
