// bAbI task files (Weston et al. 2015; the qa*_{train,test}.txt of the 1k English set) and BABILong's prompts
// for them (booydar/babilong, babilong/prompts.py DEFAULT_PROMPTS and DEFAULT_TEMPLATE).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BabiSample {
  /** Index of the story in the file (stories restart their line numbers at 1). */
  story: number;
  /** The story's statements before the question, in order; earlier questions are left out, as BABILong does. */
  facts: string[];
  /** Line numbers of `facts` in the story. */
  factIds: number[];
  question: string;
  answer: string;
  /** Supporting line numbers as the file lists them. */
  supporting: number[];
  /** The supporting statements, in story order. */
  references: string[];
}

/**
 * Parses the bAbI format: "N text" lines, N restarting at 1 for each story; question lines carry the answer
 * and the supporting line numbers after tabs ("N question?\tanswer\t3 7"). Some copies use '|' instead of the
 * tabs; both are read. Every question becomes one sample holding the statements before it.
 */
export function parseBabi(text: string): BabiSample[] {
  const out: BabiSample[] = [];
  let story = -1;
  let lines: { id: number; text: string }[] = [];
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^(\d+) (.*)$/.exec(line);
    if (m === null)
      throw new Error(`bAbI line ${n + 1}: expected "<number> <text>", got ${JSON.stringify(raw)}`);
    const id = Number(m[1]);
    if (id === 1) {
      story++;
      lines = [];
    }
    const body = m[2];
    const sep = body.includes('\t') ? '\t' : body.includes('|') ? '|' : undefined;
    if (sep === undefined) {
      lines.push({ id, text: body.trim() });
      continue;
    }
    const [question, answer, support = ''] = body.split(sep);
    const supporting = support.trim() === '' ? [] : support.trim().split(/\s+/).map(Number);
    if (answer === undefined || supporting.some((x) => !Number.isInteger(x)))
      throw new Error(`bAbI line ${n + 1}: bad question line ${JSON.stringify(raw)}`);
    out.push({
      story,
      facts: lines.map((l) => l.text),
      factIds: lines.map((l) => l.id),
      question: question.trim(),
      answer: answer.trim(),
      supporting,
      references: lines.filter((l) => supporting.includes(l.id)).map((l) => l.text),
    });
  }
  return out;
}

const parsed = new Map<string, BabiSample[]>();

/** The samples of task `qa` (1..20) from a bAbI directory (e.g. ../shared/data/babi/en). */
export function loadBabi(dir: string, qa: number, split: 'train' | 'test' = 'test'): BabiSample[] {
  const name = readdirSync(dir).find((f) => f.startsWith(`qa${qa}_`) && f.endsWith(`_${split}.txt`));
  if (name === undefined) throw new Error(`no qa${qa}_*_${split}.txt in ${dir}`);
  const path = join(dir, name);
  let s = parsed.get(path);
  if (s === undefined) {
    s = parseBabi(readFileSync(path, 'utf8'));
    parsed.set(path, s);
  }
  return s;
}

export interface BabilongPrompt {
  instruction: string;
  examples: string;
  post_prompt: string;
}

const WHERE_PEOPLE =
  'I will give you context with the facts about people and their locations hidden in some random text and a ' +
  'question. You need to answer the question based only on the information from the facts. ' +
  'If a person was in different locations, use the latest location the person was in to answer the question.';
const CARRY =
  'I will give you context with the facts about people and objects they carry, hidden in some random text ' +
  'and a question. You need to answer the question based only on the information from the facts.';
const ITEMS =
  'hidden in some random text and a question.{sp}You need to answer the question based only on the information ' +
  'from the facts.\nIf a person got an item in the first location and travelled to the second location the ' +
  'item is also in the second location. If a person dropped an item in the first location and moved to the ' +
  'second location the item remains in the first location.';
const ITEMS_HEAD = 'I give you context with the facts about locations and actions of different persons ';

const ex = (...xs: string[]) => xs.map((x) => `<example>\n${x}\n</example>`);

/** prompts.py DEFAULT_PROMPTS, qa1..qa10, verbatim (including their typos and stray separators). */
export const BABILONG_PROMPTS: Record<string, BabilongPrompt> = {
  qa1: {
    instruction:
      'I will give you context with the facts about positions of different persons hidden in some random text ' +
      'and a question. You need to answer the question based only on the information from the facts. ' +
      'If a person was in different locations, use the latest location to answer the question.',
    examples: ex(
      'Charlie went to the hallway. Judith come back to the kitchen. Charlie travelled to balcony. Where is Charlie?\n' +
        'Answer: The most recent location of Charlie is balcony.',
      'Alan moved to the garage. Charlie went to the beach. Alan went to the shop. Rouse travelled to balcony. ' +
        'Where is Alan?\nAnswer: The most recent location of Alan is shop.',
    ).join('\n\n'),
    post_prompt:
      'Always return your answer in the following format: The most recent location of \u2019person\u2019 is ' +
      '\u2019location\u2019. Do not write anything else after that.',
  },
  qa2: {
    instruction: ITEMS_HEAD + ITEMS.replace('{sp}', ''),
    examples: ex(
      'Charlie went to the kitchen. Charlie got a bottle. Charlie moved to the balcony. Where is the bottle?\n' +
        'Answer: The bottle is in the balcony.',
      'Alan moved to the garage. Alan got a screw driver. Alan moved to the kitchen. Where is the screw driver?\n' +
        'Answer: The screw driver is in the kitchen.',
    ).join('\n'),
    post_prompt:
      'Always return your answer in the following format: The \u2019item\u2019 is in \u2019location\u2019. ' +
      'Do not write anything else after that.',
  },
  qa3: {
    instruction: ITEMS_HEAD + ITEMS.replace('{sp}', ' '),
    examples: ex(
      'John journeyed to the bedroom. Mary grabbed the apple. Mary went back to the bathroom. Daniel journeyed ' +
        'to the bedroom. Daniel moved to the garden. Mary travelled to the kitchen. Where was the apple before ' +
        'the kitchen?\nAnswer: Before the kitchen the apple was in the bathroom.',
      'John went back to the bedroom. John went back to the garden. John went back to the kitchen. Sandra took ' +
        'the football. Sandra travelled to the garden. Sandra journeyed to the bedroom. Where was the football ' +
        'before the bedroom?\nAnswer: Before the bedroom the football was in the garden.',
    ).join('\n'),
    post_prompt:
      'Always return your answer in the following format: Before the $location_1$ the $item$ was in the ' +
      '$location_2$. Do not write anything else after that.',
  },
  qa4: {
    instruction:
      'I will give you context with the facts about different people, their location and actions, hidden in ' +
      'some random text and a question. You need to answer the question based only on the information from the facts.',
    examples: ex(
      'The hallway is south of the kitchen. The bedroom is north of the kitchen. What is the kitchen south of?\n' +
        'Answer: bedroom',
      'The garden is west of the bedroom. The bedroom is west of the kitchen. What is west of the bedroom?\n' +
        'Answer: garden',
    ).join('\n'),
    post_prompt:
      'Your answer should contain only one word - location. Do not write anything else after that.',
  },
  qa5: {
    instruction:
      'I will give you context with the facts about locations and their relations hidden in some random text ' +
      'and a question. You need to answer the question based only on the information from the facts.',
    examples: ex(
      'Mary picked up the apple there. Mary gave the apple to Fred. Mary moved to the bedroom. Bill took the ' +
        'milk there. Who did Mary give the apple to?\nAnswer: Fred',
      'Jeff took the football there. Jeff passed the football to Fred. Jeff got the milk there. Bill travelled ' +
        'to the bedroom. Who gave the football?\nAnswer: Jeff',
      'Fred picked up the apple there. Fred handed the apple to Bill. Bill journeyed to the bedroom. Jeff went ' +
        'back to the garden. What did Fred give to Bill?\nAnswer: apple',
    ).join('\n'),
    post_prompt:
      'Your answer should contain only one word. Do not write anything else after that. Do not explain your answer.',
  },
  qa6: {
    instruction: WHERE_PEOPLE,
    examples: `${ex(
      'John travelled to the hallway. John travelled to the garden. Is John in the garden?\nAnswer: yes',
      'Mary went to the office. Daniel journeyed to the hallway. Mary went to the bedroom. Sandra went to the ' +
        'garden. Is Mary in the office?\nAnswer: no',
    ).join('\n')}\n`,
    post_prompt:
      'Your answer should contain only one word - $yes$ or $no$. Do not write anything else after that. ' +
      'Do not explain your answer.',
  },
  qa7: {
    instruction: CARRY,
    examples: `${ex(
      'Daniel went to the bedroom. Daniel got the apple there. How many objects is Daniel carrying?\nAnswer: one',
      'Mary grabbed the apple there. Mary gave the apple to John. How many objects is Mary carrying?\nAnswer: none',
      'Sandra travelled to the hallway. Sandra picked up the milk there. Sandra took the apple there. Mary ' +
        'travelled to the garden. How many objects is Sandra carrying?\nAnswer: two',
    ).join('\n')}\n`,
    post_prompt:
      'Your answer should contain only one word - $none$ or $number_of_objects$. Do not write anything else ' +
      'after that. Do not explain your answer.',
  },
  qa8: {
    instruction: CARRY,
    examples: `${ex(
      'Sandra travelled to the garden. Mary grabbed the milk there. What is Mary carrying?\nAnswer: milk',
      'Mary travelled to the kitchen. Sandra travelled to the office. John travelled to the office. Sandra ' +
        'discarded the milk there. What is Sandra carrying?\nAnswer: nothing',
      'Daniel grabbed the apple there. Mary went to the office. Daniel moved to the garden. Daniel grabbed the ' +
        'milk there. Mary went to the kitchen. What is Daniel carrying?\nAnswer: apple,milk',
    ).join('\n')}\n`,
    post_prompt:
      'Your answer should contain only one or two words: $nothing$ or $object$ or $object_1$, $object_2$. ' +
      'Do not write anything else. Do not explain your answer.',
  },
  qa9: {
    instruction: WHERE_PEOPLE,
    examples: `${ex(
      'John is not in the bathroom. Sandra is not in the bedroom. Is John in the bathroom?\nAnswer: no',
      'Mary journeyed to the kitchen. John is in the bedroom. Sandra is not in the garden. Is Mary in the ' +
        'kitchen?\nAnswer: yes',
    ).join('\n')}\n`,
    post_prompt:
      'Your answer should contain only one word - $yes$ or $no$. Do not write anything else. Do not explain your answer.',
  },
  qa10: {
    instruction: WHERE_PEOPLE,
    examples: `${ex(
      'Bill is in the kitchen. Julie is either in the school or the cinema. Is Bill in the bedroom?\nAnswer: no',
      'Fred is in the bedroom. Mary is either in the school or the cinema. Is Mary in the school?\nAnswer: maybe',
      'Fred is either in the kitchen or the park. Bill moved to the cinema. Is Bill in the cinema?\nAnswer: yes',
    ).join('\n')}\n<context>\n`,
    post_prompt:
      'Your answer should contain only one word - $yes$ or $no$ or $maybe$. Do not write anything else. ' +
      'Do not explain your answer.',
  },
};

/**
 * DEFAULT_TEMPLATE = '{instruction}\n\n{examples}\n\n{post_prompt}\n\n<context>\n{context}\n</context>\n\n
 * Question: {question}', with the context stripped and the whole prompt stripped (get_formatted_input).
 * Split where the question begins.
 */
export function babilongPrompt(
  p: BabilongPrompt,
  context: string,
  question: string,
): { contextPart: string; questionPart: string } {
  const contextPart = `${p.instruction}\n\n${p.examples}\n\n${p.post_prompt}\n\n<context>\n${context.trim()}\n</context>\n\n`;
  return { contextPart: contextPart.trimStart(), questionPart: `Question: ${question}`.trimEnd() };
}
