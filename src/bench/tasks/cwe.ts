// RULER common words extraction (NVIDIA RULER, scripts/data/synthetic/common_words_extraction.py;
// synthetic.yaml `cwe`: freq_cw 30, freq_ucw 3, num_cw 10): a numbered list where 10 words appear 30 times
// and the rest 3 times (6 and 1 below 4096 tokens, as RULER switches), after one worked example. RULER draws
// the words from wonderwords; here they are distinct words of the haystack text (Moby-Dick by default) and of
// the built-in key-word lists. The list's last entry is cut to land on the token count, as the other
// haystacks' last unit is.
import { pieceCost } from '../text/cost.js';
import { fillUnits, fitLength } from '../text/fill.js';
import { type Haystack, loadHaystack, vocabulary } from '../text/haystack.js';
import { Rng, sample, shuffle } from '../text/random.js';
import { ADJECTIVES, NOUNS } from '../text/ruler.js';
import { rulerPromptTokens, rulerScore } from './ruler-common.js';
import {
  checkOptions,
  countTokens,
  type GenerateOptions,
  makeSample,
  type TaskGenerator,
  type TaskSample,
  type TokenCounter,
} from './types.js';

const INTRO =
  'Below is a numbered list of words. In these words, some appear more often than others. ' +
  'Memorize the ones that appear most often.\n';
const QUESTION = 'Question: What are the 10 most common words in the above list?';
const ANSWER_PREFIX = ' Answer: The top 10 words that appear most often in the list are:';
const NUM_CW = 10;
export const CWE_MAX_NEW_TOKENS = 120;

function numbered(words: readonly string[]): string[] {
  return words.map((w, i) => `${i + 1}. ${w}`);
}

/** get_example: `common * cr + uncommon * ur`, shuffled. */
function wordList(rng: Rng, words: readonly string[], cr: number, ur: number): string[] {
  const list: string[] = [];
  for (let r = 0; r < cr; r++) list.push(...words.slice(0, NUM_CW));
  for (let r = 0; r < ur; r++) list.push(...words.slice(NUM_CW));
  return shuffle(rng, list);
}

export function cweTask(haystack?: Haystack): TaskGenerator {
  return {
    name: 'cwe',
    family: 'ruler',
    description: 'RULER common words extraction: the 10 most frequent words of a numbered list',
    usesDepth: false,
    maxNewTokens: CWE_MAX_NEW_TOKENS,
    generate: (tok, o) => generateCwe(tok, o, haystack ?? loadHaystack()),
    score: rulerScore,
  };
}

function generateCwe(tok: TokenCounter, o: GenerateOptions, h: Haystack): TaskSample {
  checkOptions(o);
  const rng = new Rng(o.seed);
  // The haystack's words, plus the key-word lists so that even the small fallback text gives a few hundred.
  const pool = [...new Set([...vocabulary(h), ...ADJECTIVES, ...NOUNS])]
    .filter((w) => w.length >= 4 && w.length <= 12)
    .sort();
  const small = o.tokens < 4096;
  const [exWords, exCr, exUr] = small ? [20, 3, 1] : [40, 10, 3];
  const [cr, ur] = small ? [6, 1] : [30, 3];

  const exPick = sample(rng, pool, exWords);
  const example = `${INTRO}${numbered(wordList(rng, exPick, exCr, exUr)).join(' ')}\n${QUESTION}${ANSWER_PREFIX} ${numbered(exPick.slice(0, NUM_CW)).join(' ')}`;
  const head = `${example}\n${INTRO}`;
  const questionPart = QUESTION + ANSWER_PREFIX;

  // Word order for this sample; a list of n words uses the first n (the first 10 being the common ones).
  const order = shuffle(rng, pool.slice());
  const listSeed = Math.floor(rng.next() * 2 ** 32);
  // Estimated cost of the list of n words, from per-number and per-word costs (no full tokenization).
  const numCost = [0];
  const costUpTo = (entries: number) => {
    while (numCost.length <= entries)
      numCost.push(numCost[numCost.length - 1] + pieceCost(tok, ' ', `${numCost.length}.`));
    return numCost[entries];
  };
  const estimate = (n: number) => {
    let c = costUpTo(NUM_CW * cr + (n - NUM_CW) * ur);
    for (let i = 0; i < n; i++) c += (i < NUM_CW ? cr : ur) * pieceCost(tok, ' ', order[i]);
    return c;
  };
  const build = (budget: number) => {
    // Fewest words whose full list reaches the budget; its tail is then cut to the budget.
    // Doubling then bisection, so only the words needed are ever tokenized.
    let hi = 2 * NUM_CW;
    while (hi < pool.length && estimate(hi) < budget) hi = Math.min(pool.length, hi * 2);
    if (estimate(hi) < budget)
      throw new RangeError(
        `cwe: ${pool.length} distinct words in ${h.name} are too few for ${o.tokens} tokens`,
      );
    let lo = NUM_CW;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (estimate(mid) >= budget) hi = mid;
      else lo = mid + 1;
    }
    const words = order.slice(0, lo);
    const entries = numbered(wordList(new Rng(listSeed), words, cr, ur));
    return {
      words,
      list: fillUnits(tok, (i) => entries[i] ?? '', ' ', budget, { maxUnits: entries.length }).units.join(
        ' ',
      ),
    };
  };
  const base = countTokens(tok, `${head}\n${questionPart}`);
  // The common words are the first NUM_CW of `order` whatever the list's length: the answer is known now.
  const answer = ` ${numbered(order.slice(0, NUM_CW)).join(' ')}`;
  const target = rulerPromptTokens(tok, 'cwe', o.tokens, CWE_MAX_NEW_TOKENS, answer, base + 50);
  const fit = fitLength(target, target - base, build, (b) =>
    countTokens(tok, `${head}${b.list}\n${questionPart}`),
  );
  const common = fit.value.words.slice(0, NUM_CW);
  return makeSample(
    tok,
    {
      task: 'cwe',
      id: `cwe/${o.tokens}/${o.seed}`,
      context: fit.value.list,
      question: QUESTION,
      contextPart: `${head}${fit.value.list}\n`,
      questionPart,
      answerPrefix: ANSWER_PREFIX,
      answers: common,
      maxNewTokens: CWE_MAX_NEW_TOKENS,
      meta: { haystack: h.name, words: fit.value.words.length, frequencies: [cr, ur] },
    },
    fit.measured,
  );
}
