// Sentence splitting for haystack text. RULER and BABILong use NLTK's Punkt; this is a rule-based stand-in
// good enough for prose: it breaks after . ! ? (and closing quotes) before a capital or opening quote, except
// after common abbreviations, and always at paragraph breaks. Whitespace inside a sentence becomes one space,
// as RULER's `re.sub(r'\s+', " ", essay)` does.

const ABBREVIATIONS = new Set([
  'mr',
  'mrs',
  'ms',
  'dr',
  'st',
  'capt',
  'col',
  'gen',
  'lt',
  'sr',
  'jr',
  'rev',
  'prof',
  'messrs',
  'mt',
  'no',
  'vol',
  'ch',
  'viz',
  'etc',
  'vs',
  'e.g',
  'i.e',
  'ibid',
]);

const BOUNDARY = /([.!?]+["'\u2019\u201d)\]]*)\s+(?=["'\u2018\u201c([]?[A-Z0-9])/g;

export function splitSentences(text: string): string[] {
  const out: string[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const p = para.replace(/\s+/g, ' ').trim();
    if (p === '') continue;
    let start = 0;
    for (const m of p.matchAll(BOUNDARY)) {
      const end = m.index + m[1].length;
      const word = /([A-Za-z.]+)\.$/.exec(p.slice(start, m.index + 1));
      if (m[1] === '.' && word !== null && isAbbreviation(word[1])) continue;
      out.push(p.slice(start, end));
      start = m.index + m[0].length;
    }
    if (start < p.length) out.push(p.slice(start));
  }
  return out;
}

function isAbbreviation(w: string): boolean {
  // A lone capital ("J. Smith") is an initial, not a sentence end.
  return ABBREVIATIONS.has(w.toLowerCase()) || /^[A-Z]$/.test(w);
}
