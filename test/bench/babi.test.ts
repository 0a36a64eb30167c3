// bAbI parsing: stories, questions with their answers, supporting facts kept in story order; BABILong prompts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BABILONG_PROMPTS, babilongPrompt, loadBabi, parseBabi } from '../../src/bench/tasks/babi.js';
import { hasShared, SKIP_SHARED, sharedPath } from '../helpers/shared.js';

const BABI = sharedPath('data/babi/en');

test('parseBabi: tab format, story resets, earlier questions left out, references in story order', () => {
  const text = [
    '1 Mary got the milk there.',
    '2 John moved to the bedroom.',
    '3 Where is the milk? \thallway\t1',
    '4 Mary travelled to the hallway.',
    '5 Where is the milk? \thallway\t4 1',
    '1 Sandra went to the garden.',
    '2 Where is Sandra?\tgarden\t1',
    '',
  ].join('\n');
  const s = parseBabi(text);
  assert.equal(s.length, 3);
  assert.deepEqual(s[0], {
    story: 0,
    facts: ['Mary got the milk there.', 'John moved to the bedroom.'],
    factIds: [1, 2],
    question: 'Where is the milk?',
    answer: 'hallway',
    supporting: [1],
    references: ['Mary got the milk there.'],
  });
  assert.deepEqual(s[1].facts, [
    'Mary got the milk there.',
    'John moved to the bedroom.',
    'Mary travelled to the hallway.',
  ]);
  assert.deepEqual(s[1].supporting, [4, 1]);
  assert.deepEqual(s[1].references, ['Mary got the milk there.', 'Mary travelled to the hallway.']);
  assert.equal(s[2].story, 1);
  assert.deepEqual(s[2].facts, ['Sandra went to the garden.']);
});

test("parseBabi: the '|' separated variant and bad lines", () => {
  const s = parseBabi('1 John travelled to the hallway.\n2 Where is John? |hallway|1\n');
  assert.equal(s[0].question, 'Where is John?');
  assert.equal(s[0].answer, 'hallway');
  assert.deepEqual(s[0].supporting, [1]);
  assert.throws(() => parseBabi('John went home.'), /expected "<number> <text>"/);
  assert.throws(() => parseBabi('1 A.\n2 Q?\tx\tone'), /bad question line/);
});

test('real bAbI files: qa1..qa10 parse, references are facts in order', {
  skip: !hasShared && SKIP_SHARED,
}, () => {
  for (let qa = 1; qa <= 10; qa++) {
    const samples = loadBabi(BABI, qa, 'test');
    assert.equal(samples.length, 1000, `qa${qa}`);
    for (const s of samples) {
      assert.ok(s.answer.length > 0 && s.question.endsWith('?'), `qa${qa}: ${s.question}`);
      assert.ok(
        s.facts.every((f) => !f.includes('\t') && !f.includes('?')),
        `qa${qa}: a question among the facts`,
      );
      // Every supporting id names a statement of the story, and references follow story order.
      const ids = s.supporting.map((id) => s.factIds.indexOf(id));
      assert.ok(
        ids.every((i) => i >= 0),
        `qa${qa}: supporting ${s.supporting} not in ${s.factIds}`,
      );
      assert.deepEqual(
        s.references,
        [...ids].sort((a, b) => a - b).map((i) => s.facts[i]),
      );
    }
  }
  // qa2's third question lists its supporting facts out of order ("9 7").
  const q = loadBabi(BABI, 2, 'test')[2];
  assert.equal(q.question, 'Where is the football?');
  assert.deepEqual(q.supporting, [9, 7]);
  assert.deepEqual(q.references, ['John went to the hallway.', 'John put down the football.']);
  assert.deepEqual(q.factIds, [1, 2, 3, 4, 6, 7, 9, 10]);
  // qa1 in this copy uses '|' separators.
  assert.deepEqual(loadBabi(BABI, 1, 'test')[0], {
    story: 0,
    facts: ['John travelled to the hallway.', 'Mary journeyed to the bathroom.'],
    factIds: [1, 2],
    question: 'Where is John?',
    answer: 'hallway',
    supporting: [1],
    references: ['John travelled to the hallway.'],
  });
});

test('BABILong prompt: template, split where the question begins', () => {
  const p = BABILONG_PROMPTS.qa1;
  const { contextPart, questionPart } = babilongPrompt(p, '  Mary went home.  ', 'Where is Mary?');
  assert.equal(questionPart, 'Question: Where is Mary?');
  assert.equal(
    contextPart + questionPart,
    `${p.instruction}\n\n${p.examples}\n\n${p.post_prompt}\n\n<context>\nMary went home.\n</context>\n\nQuestion: Where is Mary?`,
  );
  assert.ok(p.examples.startsWith('<example>\nCharlie went to the hallway.'));
  assert.ok(p.examples.endsWith('The most recent location of Alan is shop.\n</example>'));
  // Upstream's qa10 examples end with a stray '<context>\n'; kept.
  assert.ok(BABILONG_PROMPTS.qa10.examples.endsWith('</example>\n<context>\n'));
  assert.ok(BABILONG_PROMPTS.qa2.instruction.includes('a question.You need'));
});
