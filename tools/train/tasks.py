"""Seeded generators for the benchmark task formats (passkey, RULER niah, BABILong).

Every generator takes a `random.Random`, a token budget `n_tokens` (total prompt length it
aims for) and returns (prompt, answer) strings; the answer is what a greedy model must
continue with. Training uses seeds from `random.Random(train_seed)`; evaluation uses
other seeds (see evaluate.py) and the bAbI *test* split.
"""

from __future__ import annotations

import glob
import os
import random
import re
import string
import uuid

PASSKEY_PREFIX = (
    "There is an important info hidden inside a lot of irrelevant text. "
    "Find it and memorize them. I will quiz you about the important information there."
)
FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
FILLER_SENTS = ["The grass is green.", "The sky is blue.", "The sun is yellow.", "Here we go.", "There and back again."]
PASSKEY_NEEDLE = "The pass key is {k}. Remember it. {k} is the pass key."
PASSKEY_Q = "What is the pass key? The pass key is"

NIAH_PREFIX = (
    "Some special magic numbers are hidden within the following text. "
    "Make sure to memorize it. I will quiz you about the numbers afterwards."
)
NIAH_NEEDLE = "One of the special magic numbers for {key} is: {value}."
NIAH_Q = "What is the special magic number for {key} mentioned in the provided text?"
NIAH_A = "The special magic number for {key} mentioned in the provided text is"
NIAH_QS = "What are all the special magic numbers for {key} mentioned in the provided text?"
NIAH_AS = "The special magic numbers for {key} mentioned in the provided text are"

BABI_INSTR_QA1 = (
    "I will give you context with the facts about positions of different persons hidden in some random text "
    "and a question. You need to answer the question based only on the information from the facts. "
    "If a person was in different locations, use the latest location to answer the question."
)
BABI_POST_QA1 = (
    "Always return your answer in the following format: The most recent location of 'person' is 'location'. "
    "Do not write anything else after that."
)
BABI_SHORT_INSTR = "Answer the question using the facts hidden in the text."

KEY_WORDS = (
    "wandering quiet ancient bright sleepy brave golden hollow silent curious crimson gentle lonely rapid "
    "tiny wooden frozen hidden noisy purple clever dusty fancy humble jolly lucky mighty narrow polite "
    "rusty shiny tender wicked calm eager fierce grumpy honest proud"
).split()
KEY_NOUNS = (
    "spear lantern harbor falcon meadow anchor compass river tower garden whale candle mirror saddle "
    "forest island engine violin pepper castle pillow rocket basket ladder helmet kettle marble needle "
    "orchard pebble quilt ribbon shovel thimble tulip wagon zebra badger cactus"
).split()


def digits(rng: random.Random, n: int) -> str:
    return str(rng.randint(1, 9)) + "".join(rng.choice(string.digits) for _ in range(n - 1))


def rand_key(rng: random.Random) -> str:
    return f"{rng.choice(KEY_WORDS)}-{rng.choice(KEY_NOUNS)}"


def rand_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class Books:
    """Public-domain book text split into sentences (haystack for niah essay / BABILong)."""

    def __init__(self, files: list[str]):
        self.sents: list[str] = []
        for f in files:
            with open(f, encoding="utf-8", errors="replace") as fh:
                txt = re.sub(r"\s+", " ", fh.read()).strip()
            self.sents.extend(s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'“‘])", txt) if 0 < len(s) < 600)

    def run(self, rng: random.Random, n_tokens: int, count) -> list[str]:
        """Consecutive sentences from a random place, about n_tokens tokens long."""
        out, total = [], 0
        i = rng.randrange(len(self.sents))
        while total < n_tokens:
            s = self.sents[i % len(self.sents)]
            total += count(" " + s)
            out.append(s)
            i += 1
        return out


def _fill(n_tokens: int, count, rng: random.Random) -> list[str]:
    out, total, i = [], 0, 0
    while total < n_tokens:
        s = FILLER_SENTS[i % 5]
        total += count(" " + s)
        out.append(s)
        i += 1
    return out


def _sep(rng: random.Random) -> str:
    return " " if rng.random() < 0.6 else "\n"


def passkey(rng, n_tokens, count, key_len=None, depth=None):
    key_len = key_len or rng.choice([5, 5, 5, 8, 16, 32, 32, 64, rng.randint(1, 64)])
    k = digits(rng, key_len)
    needle = PASSKEY_NEEDLE.format(k=k)
    overhead = count(PASSKEY_PREFIX) + count(" " + needle) + count(" " + PASSKEY_Q) + 2
    hay = _fill(max(0, n_tokens - overhead), count, rng)
    d = rng.random() if depth is None else depth
    at = round(d * len(hay))
    # the haystack is whole filler blocks in the harness: insert on a block boundary
    at -= at % 5
    parts = hay[:at] + [needle] + hay[at:]
    s1, s2 = _sep(rng), _sep(rng)
    prompt = PASSKEY_PREFIX + s1 + " ".join(parts) + s2 + PASSKEY_Q
    return prompt, " " + k + "."


def niah(rng, n_tokens, count, books=None, kind="single", hay=None, value_type=None, depth=None):
    hay = hay or ("essay" if books is not None and rng.random() < 0.5 else "noise")
    value_type = value_type or ("numbers" if rng.random() < 0.75 else "uuids")
    val = (lambda: digits(rng, 7)) if value_type == "numbers" else (lambda: rand_uuid(rng))
    keys = []
    while len(keys) < 4:
        k = rand_key(rng)
        if k not in keys:
            keys.append(k)
    if kind == "single":
        needles = [(keys[0], val())]
        asked = [keys[0]]
    elif kind == "multikey":
        needles = [(k, val()) for k in keys[: rng.randint(2, 4)]]
        asked = [rng.choice(needles)[0]]
    elif kind == "multivalue":
        needles = [(keys[0], val()) for _ in range(rng.randint(2, 4))]
        asked = [keys[0]]
    else:  # multiquery
        needles = [(k, val()) for k in keys[: rng.randint(2, 4)]]
        asked = [k for k, _ in needles][: rng.randint(2, len(needles))]
    needle_txt = [NIAH_NEEDLE.format(key=k, value=v) for k, v in needles]
    overhead = count(NIAH_PREFIX) + sum(count(" " + n) for n in needle_txt) + 40 + 25 * len(asked)
    budget = max(0, n_tokens - overhead)
    sents = books.run(rng, budget, count) if hay == "essay" else _fill(budget, count, rng)
    for n in needle_txt:
        at = round((rng.random() if depth is None else depth) * len(sents))
        sents.insert(at, n)
    context = " ".join(sents)
    vals = {k: [v for kk, v in needles if kk == k] for k in asked}
    if len(asked) == 1 and kind != "multivalue":
        k = asked[0]
        q = NIAH_Q.format(key=k)
        if rng.random() < 0.5:
            return NIAH_PREFIX + "\n" + context + "\n" + q + " " + NIAH_A.format(key=k), " " + vals[k][0] + "."
        return NIAH_PREFIX + "\n" + context + "\n" + q, " " + NIAH_A.format(key=k) + " " + vals[k][0] + "."
    if kind == "multivalue":
        k = asked[0]
        q = NIAH_QS.format(key=k)
        return NIAH_PREFIX + "\n" + context + "\n" + q + " " + NIAH_AS.format(key=k), " " + ", ".join(vals[k]) + "."
    q = "What are all the special magic numbers for " + ", ".join(asked) + " mentioned in the provided text?"
    a = "The special magic numbers for " + ", ".join(asked) + " mentioned in the provided text are"
    return NIAH_PREFIX + "\n" + context + "\n" + q + " " + a, " " + ", ".join(vals[k][0] for k in asked) + "."


def load_babi(split: str, task: str = "qa1", root: str | None = None) -> list[tuple[list[str], str, str]]:
    """(facts so far, question, answer) triples from a bAbI file ('train' or 'test')."""
    root = root or os.environ.get("KVSIEVE_BABI", "/work/shared/data/babi/en")
    path = glob.glob(os.path.join(root, f"{task}_*_{split}.txt"))[0]
    out, story = [], []
    with open(path) as f:
        for line in f:
            num, _, rest = line.strip().partition(" ")
            if num == "1":
                story = []
            if "\t" in rest or "|" in rest:
                q, a, _ = re.split(r"\s*[\t|]\s*", rest)[:3]
                out.append((list(story), q.strip(), a.strip()))
            else:
                story.append(rest)
    return out


BABI_NAMES = ["Mary", "John", "Daniel", "Sandra"]
BABI_PLACES = ["bathroom", "hallway", "kitchen", "office", "garden", "bedroom"]


def rename_entities(rng, facts: list[str], q: str, a: str):
    """The same story with bAbI's people and rooms permuted (training augmentation; same vocabulary)."""
    names, places = BABI_NAMES[:], BABI_PLACES[:]
    rng.shuffle(names)
    rng.shuffle(places)
    table = dict(zip(BABI_NAMES + BABI_PLACES, names + places))
    pat = re.compile(r"\b(" + "|".join(table) + r")\b")
    sub = lambda s: pat.sub(lambda m: table[m.group(1)], s)  # noqa: E731
    return [sub(f) for f in facts], sub(q), sub(a)


BABI_FACT = re.compile(r"^(\w+) .* the (\w+)\.$")  # every qa1 fact: "<person> <verb> [back] to the <room>."


def latest_rooms(facts: list[str]) -> dict[str, str]:
    latest = {}
    for f in facts:
        m = BABI_FACT.match(f)
        latest[m.group(1)] = m.group(2)
    return latest


def requestion(facts: list[str], rng) -> tuple[str, str]:
    """A new qa1 question on the same facts: where is a person whose latest room is not the story's last room.

    bAbI asks mostly about the person of the last fact, so "the last room mentioned" is right more than
    half the time; a model that learned that shortcut (step 6460: 87% of its answers) never has to bind
    rooms to people. Asking about someone else (when there is anyone else) takes the shortcut's reward away.
    """
    latest = latest_rooms(facts)
    final = latest[BABI_FACT.match(facts[-1]).group(1)]
    who = rng.choice([p for p in latest if latest[p] != final] or list(latest))
    return f"Where is {who}?", latest[who]


def babi_dialogue(rng, samples, count, n_tokens) -> list[tuple[str, str]]:
    """bAbI stories with a question after some facts, as in bAbI's own files: [(text, answer)], ~n_tokens.

    Dense supervision for qa1's binding (room to person) and recency (the latest room): an answer every
    ~2 facts instead of one per row. Stories follow each other; a later fact overrides an earlier one, so
    "latest room" stays right across them.
    """
    out, text, total = [], "", 0
    while total < n_tokens:
        facts, _, _ = rng.choice(samples)
        facts, _, _ = rename_entities(rng, facts, "", "")
        for i, f in enumerate(facts):
            text += f + (" " if rng.random() < 0.7 else "\n")
            if i == len(facts) - 1 or (i >= 1 and rng.random() < 0.5):
                q, a = requestion(facts[: i + 1], rng) if rng.random() < 0.6 else _latest_of_last(facts[: i + 1])
                out.append((text + f"\nQuestion: {q}", f"\nAnswer: {a}.\n"))
                total += count(out[-1][0]) + 6
                text = ""
    return out


def _latest_of_last(facts: list[str]) -> tuple[str, str]:
    m = BABI_FACT.match(facts[-1])
    return f"Where is {m.group(1)}?", m.group(2)


def babilong(rng, n_tokens, count, books, samples, official=None, rename=False, new_question=False, more=0):
    """-> (prompt, answer), or with more > 0 (prompt, answer, [(question, answer)]): up to `more` further
    questions on the same context, one per other person of the story (v7 multi-question rows)."""
    facts, q, a = rng.choice(samples)
    if new_question:
        q, a = requestion(facts, rng)
    if rename:
        facts, q, a = rename_entities(rng, facts, q, a)
    official = rng.random() < 0.5 if official is None else official
    instr = BABI_INSTR_QA1 if official else BABI_SHORT_INSTR
    post = BABI_POST_QA1 if official else ""
    head = f"{instr}\n\n\n\n{post}\n\n<context>\n"
    tail = f"\n</context>\n\nQuestion: {q}"
    overhead = count(head) + count(tail) + sum(count(" " + x) for x in facts) + 4
    sents = books.run(rng, max(0, n_tokens - overhead), count)
    pos = sorted(rng.randint(0, len(sents)) for _ in facts)
    for off, (p, fact) in enumerate(zip(pos, facts)):
        sents.insert(p + off, fact)
    prompt = head + " ".join(sents) + tail
    if more:
        asked = q.split()[-1].rstrip("?")
        others = [(p, r) for p, r in latest_rooms(facts).items() if p != asked]
        rng.shuffle(others)
        extra = [(f"Where is {p}?", r) for p, r in others[:more]]
        return prompt, f"\nAnswer: {a}.", extra
    # The short answer even after BABILong's official prompt: its protocol gives the model 20 new tokens,
    # and "The most recent location of Mary is bathroom." is ~23 tokens in this 2048-token vocabulary
    # (until step 6196 the official prompt was trained with that sentence: the room never fitted).
    return prompt, f"\nAnswer: {a}."


def induction(rng, n_tokens, vocab_size, digit_ids=None, n_special=2):
    """A short random token segment repeated to fill the row (ids, not text).

    -> (ids, weights): weight 1 on every token after the first copy. Segments are 6-40 tokens of
    the whole vocabulary, or of digit tokens only (the pass-key case, where repeats inside a
    segment make a 1-token match ambiguous and the copy needs a longer prefix match).
    """
    seg_len = rng.randint(6, 40)
    if digit_ids and rng.random() < 0.35:
        seg = [rng.choice(digit_ids) for _ in range(seg_len)]
    else:
        seg = [rng.randrange(vocab_size - n_special) for _ in range(seg_len)]
    reps = max(2, n_tokens // seg_len)
    ids = (seg * reps)[: max(n_tokens, 2 * seg_len)]
    return ids, [0.0] * seg_len + [1.0] * (len(ids) - seg_len)
