"""What words mean, said in text: the reading a pretrained model would have done elsewhere.

A model trained from scratch on this world reads only the world's own texts. The held-out
phrasings of requests, questions and edits are never said there, and most of them hold a word
that no text of the world has at all ('huge', 'enlarge', 'get rid of'): no model can learn from
this world alone what such a word means (`python -m transfusion.evaluation.held_out` lists
them). The `glossary` task is that elsewhere, in miniature: a question about a word, answered
with what it means in the world's own words ('what does enlarge mean?' -> 'enlarge means make
bigger'). It never says a request, a question about a picture or an edit, so a held-out
phrasing is still never said in training; what the held-out rows then measure is whether the
model uses a meaning it read here when it meets the word in a task, as colour-shape pairs
held out measure whether it composes a colour and a shape it learned apart.

`GLOSSARY` holds two kinds of entries: words the tasks also use, whose meaning the model can see
both here and in what the tasks do ('tiny' is drawn small), so that 'X means Y' is a sentence
it learns to act on; and the words of held-out phrasings, whose meaning it reads only here.
"""

from __future__ import annotations

import random

# word -> what it means, in words the tasks use. The first group the tasks also use; the second
# is every word of a held-out phrasing that no task text holds (a test keeps it complete).
GLOSSARY: dict[str, tuple[str, ...]] = {
    # seen in the tasks too
    "big": ("large",),
    "little": ("small",),
    "tiny": ("small",),
    "grey": ("gray",),
    "middle": ("center",),
    "centre": ("center",),
    "upper": ("top",),
    "lower": ("bottom",),
    "object": ("shape",),
    "objects": ("shapes",),
    "delete": ("remove",),
    "take away": ("remove",),
    "place": ("put",),
    "bigger": ("larger",),
    "generate": ("draw",),
    "show me": ("draw",),
    # only here: the words of held-out phrasings
    "huge": ("large", "big"),
    "a pair of": ("two",),
    "thing": ("shape", "object"),
    "things": ("shapes", "objects"),
    "could": ("can",),
    "i'd like": ("i want",),
    "colour": ("color",),
    "coloured": ("colored",),
    "get rid of": ("remove", "delete"),
    "erase": ("remove", "delete"),
    "insert": ("add", "put"),
    "enlarge": ("make bigger", "make larger"),
    "shrink": ("make smaller",),
    "shift": ("move",),
}
ASKING: tuple[str, ...] = ("what does {word} mean?", "what is the meaning of {word}?", "define {word}",
                           "what do you mean by {word}?")
ASKING_BACK: tuple[str, ...] = ("what is another word for {meaning}?", "another way to say {meaning}?")
BACK_P = 0.3  # share of questions that ask for a word from its meaning
MAX_WORDS = 3  # words asked about in one document


def definition(word: str, meaning: str) -> str:
    """The answer: '{word} means {meaning}'."""
    return f"{word} means {meaning}"


def glossary_turns(rng: random.Random) -> list[tuple[str, str]]:
    """One to MAX_WORDS (question, answer) pairs about different words."""
    words = rng.sample(sorted(GLOSSARY), rng.randint(1, MAX_WORDS))
    turns = []
    for word in words:
        meaning = rng.choice(GLOSSARY[word])
        if rng.random() < BACK_P:
            asked = rng.choice(ASKING_BACK).format(meaning=meaning)
        else:
            asked = rng.choice(ASKING).format(word=word)
        turns.append((asked, definition(word, meaning)))
    return turns
