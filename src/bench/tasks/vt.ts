// RULER variable tracking (NVIDIA RULER, scripts/data/synthetic/variable_tracking.py; synthetic.yaml `vt`: noise
// haystack, 1 chain, 4 hops): "VAR ABCDE = 12345" then "VAR FGHIJ = VAR ABCDE " ... hidden among noise lines,
// in order; the answer is every variable that ends up holding the value. One worked example of at most 500
// tokens (3-letter names) comes first, as RULER's ICL example does.
import { fillUnits, fitLength } from '../text/fill.js';
import { Rng, randInt } from '../text/random.js';
import { NOISE_LINE } from '../text/ruler.js';
import { placeNeedles, rulerPromptTokens, rulerScore } from './ruler-common.js';
import {
  checkOptions,
  countTokens,
  type GenerateOptions,
  makeSample,
  type TaskGenerator,
  type TaskSample,
  type TokenCounter,
} from './types.js';

const INTRO = 'Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n';
const QUESTION = 'Question: Find all variables that are assigned the value {query} in the text above.';
const ANSWER_PREFIX =
  ' Answer: According to the chain(s) of variable assignment in the text above, {num_v} variables are assigned the value {query}, they are: ';
const HOPS = 4;
const ICL_MAX_TOKENS = 500;
export const VT_MAX_NEW_TOKENS = 30;

function names(rng: Rng, n: number, len: number): string[] {
  const out = new Set<string>();
  while (out.size < n) {
    let s = '';
    for (let i = 0; i < len; i++) s += String.fromCharCode(65 + Math.floor(rng.next() * 26));
    if (s !== 'VAR') out.add(s);
  }
  return [...out];
}

function chain(vars: string[], value: string): string[] {
  return [`VAR ${vars[0]} = ${value}`, ...vars.slice(1).map((v, j) => `VAR ${v} = VAR ${vars[j]} `)];
}

interface Built {
  text: string;
  context: string;
}

/** The chain among noise lines, at sorted uniformly drawn positions (variable_tracking.py's noise branch). */
function withChain(tok: TokenCounter, lines: string[], links: string[], rng: Rng): string {
  const at = links.map(() => rng.next()).sort((a, b) => a - b);
  return placeNeedles(tok, lines, '\n', links, at).pieces.join('\n');
}

function render(context: string, value: string, tail = ''): Built {
  const q = QUESTION.replace('{query}', value);
  const a = ANSWER_PREFIX.replace('{query}', value).replace('{num_v}', String(HOPS + 1));
  return { text: `${INTRO}${context}\n${q}${a}${tail}`, context };
}

export function vtTask(): TaskGenerator {
  return {
    name: 'vt',
    family: 'ruler',
    description: 'RULER variable tracking: 1 chain of 4 hops in noise lines',
    usesDepth: false,
    maxNewTokens: VT_MAX_NEW_TOKENS,
    generate: generateVt,
    score: rulerScore,
  };
}

function generateVt(tok: TokenCounter, o: GenerateOptions): TaskSample {
  checkOptions(o);
  const rng = new Rng(o.seed);
  const noise = () => NOISE_LINE;

  // The worked example: as many noise lines as keep it within 500 tokens.
  const iclVars = names(rng, HOPS + 1, 3);
  const iclValue = String(randInt(rng, 10000, 99999));
  const iclLinks = chain(iclVars, iclValue);
  const iclSeed = rng.next();
  const icl = (budget: number) => {
    const lines = fillUnits(tok, noise, '\n', budget, {}).units.filter((l) => l === NOISE_LINE);
    const ctx = withChain(tok, lines, iclLinks, new Rng(Math.floor(iclSeed * 2 ** 32)));
    return `${render(ctx, iclValue, ` ${iclVars.join(' ')}`).text}\n`;
  };
  const iclBase = countTokens(tok, icl(0));
  let iclText = icl(0);
  for (let b = ICL_MAX_TOKENS - iclBase; b > 0; b -= 25) {
    const t = icl(b);
    if (countTokens(tok, t) <= ICL_MAX_TOKENS) {
      iclText = t;
      break;
    }
  }

  const vars = names(rng, HOPS + 1, 5);
  const value = String(randInt(rng, 10000, 99999));
  const links = chain(vars, value);
  const placeSeed = Math.floor(rng.next() * 2 ** 32);
  const head = `${iclText}\n`;
  const build = (budget: number) => {
    const lines = fillUnits(tok, noise, '\n', budget).units;
    return render(withChain(tok, lines, links, new Rng(placeSeed)), value);
  };
  const base = countTokens(tok, head + build(0).text);
  const target = rulerPromptTokens(tok, 'vt', o.tokens, VT_MAX_NEW_TOKENS, ` ${vars.join(' ')}`, base);
  const fit = fitLength(target, target - base, build, (b) => countTokens(tok, head + b.text));
  const context = fit.value.context;
  const q = QUESTION.replace('{query}', value);
  const answerPrefix = ANSWER_PREFIX.replace('{query}', value).replace('{num_v}', String(HOPS + 1));
  return makeSample(
    tok,
    {
      task: 'vt',
      id: `vt/${o.tokens}/${o.seed}`,
      context,
      question: q,
      contextPart: `${head}${INTRO}${context}\n`,
      questionPart: q + answerPrefix,
      answerPrefix,
      answers: vars,
      maxNewTokens: VT_MAX_NEW_TOKENS,
      meta: { value, chain: links },
    },
    fit.measured,
  );
}
