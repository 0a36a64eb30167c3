// RULER needle-in-a-haystack tasks (NVIDIA RULER, scripts/data/synthetic/niah.py with the settings of
// scripts/synthetic.yaml). Differences, all forced by licences or by the token-exact sizing: the essay haystack
// is Moby-Dick (or the user's text) instead of Paul Graham's essays, key words come from small built-in
// adjective/noun lists instead of wonderwords, and with `depth` given every needle the question asks about
// sits at that depth (distractor needles keep RULER's random depths).
import { fillUnits, fitLength } from '../text/fill.js';
import { type Haystack, loadHaystack, sentenceAt } from '../text/haystack.js';
import { choice, Rng, randomDigits, randomUuid, sample, shuffle } from '../text/random.js';
import { ADJECTIVES, NOISE_LINE, NOUNS } from '../text/ruler.js';
import { DEPTHS, placeNeedles, rulerPromptTokens, rulerScore } from './ruler-common.js';
import {
  checkOptions,
  countTokens,
  type GenerateOptions,
  makeSample,
  type TaskGenerator,
  type TaskSample,
  type TokenCounter,
} from './types.js';

type HaystackKind = 'noise' | 'essay' | 'needle';
type NeedleType = 'words' | 'numbers' | 'uuids';

export interface NiahConfig {
  haystack: HaystackKind;
  keyType: NeedleType;
  valueType: NeedleType;
  numKeys: number;
  numValues: number;
  numQueries: number;
}

/** scripts/synthetic.yaml */
export const NIAH_TASKS: Record<string, NiahConfig> = {
  niah_single_1: {
    haystack: 'noise',
    keyType: 'words',
    valueType: 'numbers',
    numKeys: 1,
    numValues: 1,
    numQueries: 1,
  },
  niah_single_2: {
    haystack: 'essay',
    keyType: 'words',
    valueType: 'numbers',
    numKeys: 1,
    numValues: 1,
    numQueries: 1,
  },
  niah_single_3: {
    haystack: 'essay',
    keyType: 'words',
    valueType: 'uuids',
    numKeys: 1,
    numValues: 1,
    numQueries: 1,
  },
  niah_multikey_1: {
    haystack: 'essay',
    keyType: 'words',
    valueType: 'numbers',
    numKeys: 4,
    numValues: 1,
    numQueries: 1,
  },
  niah_multikey_2: {
    haystack: 'needle',
    keyType: 'words',
    valueType: 'numbers',
    numKeys: 1,
    numValues: 1,
    numQueries: 1,
  },
  niah_multikey_3: {
    haystack: 'needle',
    keyType: 'uuids',
    valueType: 'uuids',
    numKeys: 1,
    numValues: 1,
    numQueries: 1,
  },
  niah_multivalue: {
    haystack: 'essay',
    keyType: 'words',
    valueType: 'numbers',
    numKeys: 1,
    numValues: 4,
    numQueries: 1,
  },
  niah_multiquery: {
    haystack: 'essay',
    keyType: 'words',
    valueType: 'numbers',
    numKeys: 1,
    numValues: 1,
    numQueries: 4,
  },
};

/** constants.py TASKS['niah']: template, then answer_prefix. */
const TEMPLATE =
  'Some special magic {type_needle_v} are hidden within the following text. Make sure to memorize it. ' +
  'I will quiz you about the {type_needle_v} afterwards.\n{context}\n' +
  'What are all the special magic {type_needle_v} for {query} mentioned in the provided text?';
const ANSWER_PREFIX = ' The special magic {type_needle_v} for {query} mentioned in the provided text are';
const NEEDLE = 'One of the special magic {type_needle_v} for {key} is: {value}.';

export const NIAH_MAX_NEW_TOKENS = 128;

function randomOf(rng: Rng, t: NeedleType): string {
  if (t === 'numbers') return randomDigits(rng, 7);
  if (t === 'uuids') return randomUuid(rng);
  return `${choice(rng, ADJECTIVES)}-${choice(rng, NOUNS)}`;
}

function fill(s: string, vars: Record<string, string>): string {
  return s.replace(/\{(\w+)\}/g, (m, k: string) => vars[k] ?? m);
}

/** niah.py's wording for a single answer: 'Some' → 'A', 'are all' → 'is', 'are' → 'is', 'numbers' → 'number'. */
function singular(s: string): string {
  return s
    .replace(/Some/g, 'A')
    .replace(/are all/g, 'is')
    .replace(/are/g, 'is')
    .replace(/answers/g, 'answer');
}

export function niahTask(name: string, cfg: NiahConfig, haystack?: Haystack): TaskGenerator {
  return {
    name,
    family: 'ruler',
    description: `RULER ${name}: ${cfg.numKeys} key(s) × ${cfg.numValues} value(s), ${cfg.numQueries} queried, ${cfg.haystack} haystack`,
    usesDepth: true,
    maxNewTokens: NIAH_MAX_NEW_TOKENS,
    generate: (tok, o) => generateNiah(tok, o, name, cfg, haystack),
    score: rulerScore,
  };
}

function generateNiah(
  tok: TokenCounter,
  o: GenerateOptions,
  name: string,
  cfg: NiahConfig,
  given?: Haystack,
): TaskSample {
  checkOptions(o);
  const rng = new Rng(o.seed);
  const numKeys = Math.max(cfg.numKeys, cfg.numQueries);
  const keys: string[] = [];
  const values: string[][] = [];
  let typeV: string = cfg.valueType;
  const one = cfg.numQueries * cfg.numValues === 1;
  if (one) typeV = typeV.slice(0, -1);
  const needles: { text: string; key: number }[] = [];
  for (let k = 0; k < numKeys; k++) {
    keys.push(randomOf(rng, cfg.keyType));
    const vs: string[] = [];
    for (let v = 0; v < cfg.numValues; v++) {
      vs.push(randomOf(rng, cfg.valueType));
      // The needle names the plural type, as niah.py formats it before any singular rewrite.
      needles.push({
        text: fill(NEEDLE, { type_needle_v: cfg.valueType, key: keys[k], value: vs[v] }),
        key: k,
      });
    }
    values.push(vs);
  }
  shuffle(rng, needles);
  const asked = sample(
    rng,
    keys.map((_, i) => i),
    cfg.numQueries,
  );
  const queries = asked.map((i) => keys[i]);
  const answers = asked.flatMap((i) => values[i]);
  const query =
    queries.length > 1
      ? `${queries.slice(0, -1).join(', ')}, and ${queries[queries.length - 1]}`
      : queries[0];
  let template = TEMPLATE + ANSWER_PREFIX;
  if (one) template = singular(template);
  const filled = fill(template, { type_needle_v: typeV, query });
  const cut = filled.indexOf('{context}');
  const intro = filled.slice(0, cut);
  const afterContext = filled.slice(cut + '{context}'.length);
  const answerPrefix = fill(one ? singular(ANSWER_PREFIX) : ANSWER_PREFIX, { type_needle_v: typeV, query });
  const questionPart = afterContext.slice(1); // drop the '\n' that ends the context line
  const question = questionPart.slice(0, questionPart.length - answerPrefix.length);

  // Where each needle goes: asked-about needles at the requested depth, the rest (and all of them without a
  // depth) where RULER would put them: one of its 40 depths for the essay, uniformly for line haystacks.
  const randomDepths =
    cfg.haystack === 'essay' ? sample(rng, DEPTHS, needles.length) : needles.map(() => rng.next());
  const at = needles.map((n, i) =>
    o.depth !== undefined && asked.includes(n.key) ? o.depth : randomDepths[i],
  );

  const h = cfg.haystack === 'essay' ? (given ?? loadHaystack()) : undefined;
  const sep = cfg.haystack === 'essay' ? ' ' : '\n';
  const distractors: string[] = [];
  const drng = new Rng(o.seed ^ 0x5f3759df);
  const unit = (i: number): string => {
    if (h !== undefined) return sentenceAt(h, i);
    if (cfg.haystack === 'noise') return NOISE_LINE;
    while (distractors.length <= i)
      distractors.push(
        fill(NEEDLE, {
          type_needle_v: cfg.valueType,
          key: randomOf(drng, cfg.keyType),
          value: randomOf(drng, cfg.valueType),
        }),
      );
    return distractors[i];
  };
  const contextOf = (pieces: string[]) => `${intro}${pieces.join(sep)}\n`;
  const base = countTokens(tok, contextOf(needles.map((n) => n.text)) + questionPart);
  const target = rulerPromptTokens(tok, name, o.tokens, NIAH_MAX_NEW_TOKENS, ` ${answers.join(' ')}`, base);
  const build = (budget: number) => {
    const f = fillUnits(tok, unit, sep, budget);
    return placeNeedles(
      tok,
      f.units,
      sep,
      needles.map((n) => n.text),
      at,
    );
  };
  const fit = fitLength(target, target - base, build, (p) =>
    countTokens(tok, contextOf(p.pieces) + questionPart),
  );
  const firstAsked = needles.findIndex((n) => asked.includes(n.key));
  return makeSample(
    tok,
    {
      task: name,
      id: `${name}/${o.tokens}/${o.depth ?? 'r'}/${o.seed}`,
      context: fit.value.pieces.join(sep),
      question,
      contextPart: contextOf(fit.value.pieces),
      questionPart,
      answerPrefix,
      answers,
      maxNewTokens: NIAH_MAX_NEW_TOKENS,
      depth: fit.value.depths[firstAsked],
      meta: {
        haystack: h?.name ?? cfg.haystack,
        queries,
        needles: needles.map((n, i) => ({
          text: n.text,
          asked: asked.includes(n.key),
          depth: fit.value.depths[i],
        })),
      },
    },
    fit.measured,
  );
}
