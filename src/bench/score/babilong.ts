// BABILong's answer check (booydar/babilong, babilong/metrics.py): only the first sentence of the lower-cased
// output counts; it is right when the target is the one task label it mentions, after dropping labels the
// question itself names (those are never the answer). Labels match as substrings, as upstream does — so for
// qa7 a correct "none" also mentions "one" and is rejected; `wholeWords` turns that off (not the protocol).

/**
 * metrics.py TASK_LABELS as upstream has them since June 2024 (qa7 gained 'three': bAbI's counting task has
 * answers up to three; without it a correct "three" mentioned no label and scored 0).
 */
export const BABILONG_LABELS: Record<string, readonly string[]> = {
  qa1: ['bathroom', 'bedroom', 'garden', 'hallway', 'kitchen', 'office'],
  qa2: ['bathroom', 'bedroom', 'garden', 'hallway', 'kitchen', 'office'],
  qa3: ['bathroom', 'bedroom', 'garden', 'hallway', 'kitchen', 'office'],
  qa4: ['bathroom', 'bedroom', 'garden', 'hallway', 'kitchen', 'office'],
  qa5: ['Bill', 'Fred', 'Jeff', 'Mary', 'apple', 'football', 'milk'],
  qa6: ['no', 'yes'],
  qa7: ['none', 'one', 'three', 'two'],
  qa8: ['apple', 'football', 'milk', 'nothing'],
  qa9: ['no', 'yes'],
  qa10: ['maybe', 'no', 'yes'],
};

/** preprocess_output. Its split on 'Question' runs after lower-casing, so it never cuts; kept as is. */
export function babilongPreprocess(output: string): string {
  let o = output.toLowerCase();
  o = o.split('.')[0];
  o = o.split('<context>')[0];
  o = o.split('<example>')[0];
  o = o.split('Question')[0];
  return o;
}

export function compareAnswers(
  target: string,
  output: string,
  question: string,
  labels: readonly string[],
  opts: { wholeWords?: boolean } = {},
): boolean {
  const out = babilongPreprocess(output);
  const t = target.toLowerCase();
  const q = question.toLowerCase();
  const lower = [...new Set(labels.map((l) => l.toLowerCase()))];
  const mentioned = (label: string, text: string) =>
    opts.wholeWords
      ? new RegExp(`\\b${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(text)
      : text.includes(label);
  const inQuestion = new Set(lower.filter((l) => mentioned(l, q)));
  const inOutput = new Set(lower.filter((l) => mentioned(l, out) && !inQuestion.has(l)));
  // A list target (qa8 "apple,milk") needs all of its items and nothing else.
  if (t.includes(',') && t.length > 3) {
    const parts = t.split(',');
    return parts.every((p) => inOutput.has(p)) && inOutput.size === parts.length;
  }
  return inOutput.has(t) && inOutput.size === 1;
}
