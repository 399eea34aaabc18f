"""Questions beyond the contract's five forms, and questions in people's words.

Two halves, both graded exactly like the canonical questions:
- seven new forms (yes/no, "which shape is red?", "what is in the top left corner?", counts of a
  colour or a shape), each with a canonical text and a canonical answer. A yes/no or count
  answer first goes through the picture's objects, each compared with what was asked, then
  gives its verdict ("a square is not a circle, a circle is a circle, so yes"): the model reads
  its own words to decide, which it learns far sooner than a bare "yes" (a one-token answer
  decided from the image stayed at chance through 29,000 steps). Each mark ("is" or "is not")
  compares the object just written with the asked words, and the verdict reads the marks: with
  the whole caption as evidence (stages 9 to 11) and then the objects listed alone (stages 12
  and 13) the evidence was right 499 times in 500 and "is there a {shape}?" still 50 % and 66 %,
  mostly "yes" to an absent shape, the asked word to be found somewhere in the list.
  `verdict_of` takes the verdict back out; it is what is graded. `new_questions_for`
  lists every valid one of a scene; `answer_new` reads the text back (written apart on purpose;
  a test checks that they agree, as for `questions.py`). `random_new_question` draws one so
  that present and absent things are asked about half and half ("yes" as often as "no").
- `phrase_question`: a natural variant of any question, canonical or new, with the same answer.
  Some whole phrasings (`HELD_OUT_QUESTION_PHRASINGS`) never appear in training text; the
  evaluator asks with them to measure whether the model understands words it never saw asked.

The canonical forms in `questions.py` are not changed here.
"""

from __future__ import annotations

import random
import re

from .captions import BACKGROUND_WORDS, POSITION_WORDS, canonical_caption
from .questions import Question
from .words import alternatives, article, phrase_finder, without_slots
from .world import BACKGROUNDS, CELL_OF_POSITION, COLOURS, HELD_OUT_PAIRS, POSITIONS, SHAPES, SIZES, TRAINING_PAIRS, Scene

COUNT_WORDS: dict[int, str] = {0: "none", 1: "one", 2: "two", 3: "three"}

# form name -> a human label (the canonical text with its slots), as questions.QUESTION_FORMS
NEW_QUESTION_FORMS: dict[str, str] = {
    "is_there_shape": "is there a {shape}?",
    "is_there_object": "is there a {colour} {shape}?",
    "is_background": "is the background {background}?",
    "which_shape": "which shape is {colour}?",
    "what_is_at": "what is {position}?",
    "count_colour": "how many {colour} shapes are there?",
    "count_shape": "how many {shape}s are there?",
}
YES_NO_FORMS: tuple[str, ...] = ("is_there_shape", "is_there_object", "is_background")
# forms whose answer says its evidence before the verdict (`with_evidence`)
EVIDENCE_FORMS: tuple[str, ...] = (*YES_NO_FORMS, "count_colour", "count_shape")
VERDICT_SEPARATOR = ", so "
# forms that ask about a shape whatever its colour: their evidence names the shapes alone, in the
# place after 'a' where the other forms' evidence names a colour. Stage 11 compared what was
# asked with the colours alone: of 80 'is there a {colour} {shape}?' put in words, the 7 about an
# absent pair whose colour was there were all answered "yes", and 'is there a circle?' stayed at
# chance (`random_new_question`'s near misses are the other half of the cure)
SHAPE_FORMS: tuple[str, ...] = ("is_there_shape", "count_shape")

# answers that say a thing is absent: random_new_question asks about absent and present things
# half and half, so none of these is the safe guess
ABSENT_ANSWERS: frozenset[str] = frozenset({"no", "none", "nothing"})

# every verdict a new question can have (the whole answer, for the forms without evidence)
NEW_ANSWER_WORDS: tuple[str, ...] = (
    ("yes", "no")
    + tuple(COUNT_WORDS.values())
    + SHAPES
    + ("nothing",)
    + tuple(f"a {size} {colour} {shape}" for size in SIZES for colour in COLOURS for shape in SHAPES)
)


def object_answer(size: str, colour: str, shape: str) -> str:
    """'a {size} {colour} {shape}': what 'what is {position}?' answers for an occupied cell."""
    return f"a {size} {colour} {shape}"


def with_evidence(scene: Scene, form: str, asked: str, verdict: str) -> str:
    """The answer of an EVIDENCE_FORMS question: what the picture shows, then the verdict.

    `asked` is what the question names: a shape ('circle') for the SHAPE_FORMS, a colour and a
    shape ('red circle') for `is_there_object`, a colour ('red') for `count_colour`, a
    background for `is_background`. That form says 'the background is {background}, so
    {verdict}'; the others go through the objects in the caption's order, each compared with
    what was asked on its own: 'a square is not a circle, a circle is a circle, so yes' (the
    shapes alone for the SHAPE_FORMS), 'a red square is not a red circle, so no', 'a red square
    is red, a blue circle is not red, so one'. The verdict is then read off the marks ('is' or
    'is not'), each decided from the object just written and the asked words.
    """
    if form not in EVIDENCE_FORMS:
        raise ValueError(f"{form!r} answers without evidence; forms with evidence: {EVIDENCE_FORMS}")
    if form == "is_background":
        return f"the background is {scene.background}{VERDICT_SEPARATOR}{verdict}"
    thing = asked if form == "count_colour" else f"{article(asked)} {asked}"
    marks = []
    for o in scene.objects:
        if form in SHAPE_FORMS:
            said, same = f"a {o.shape}", o.shape == asked
        elif form == "is_there_object":
            said, same = f"{article(o.colour)} {o.colour} {o.shape}", f"{o.colour} {o.shape}" == asked
        else:  # count_colour
            said, same = f"{article(o.colour)} {o.colour} {o.shape}", o.colour == asked
        marks.append(f"{said} is {thing}" if same else f"{said} is not {thing}")
    return f"{', '.join(marks)}{VERDICT_SEPARATOR}{verdict}"


def in_words(scene: Scene, question: str) -> str:
    """A question about a scene that is said instead of shown: 'there is {canonical caption}.
    {question}' (the `reason` task: the same evidence, then the verdict, from words alone)."""
    return f"there is {canonical_caption(scene)}. {question}"


def read_in_words(text: str) -> tuple[str, str] | None:
    """(caption, question) of an `in_words` text; None for any other text."""
    caption, dot, question = text.removeprefix("there is ").partition(". ")
    return (caption, question) if text.startswith("there is ") and dot else None


def verdict_of(answer: str) -> str:
    """The verdict of an answer: what follows the last ', so ' (the whole answer when there is
    none, so a bare 'yes' is its own verdict)."""
    return answer.rsplit(VERDICT_SEPARATOR, 1)[-1]


def evidence_of(answer: str) -> str:
    """What an answer says before its verdict ('' for a bare verdict)."""
    return answer.rsplit(VERDICT_SEPARATOR, 1)[0] if VERDICT_SEPARATOR in answer else ""


# ---------------------------------------------------------------- the new forms


def new_questions_for(scene: Scene, allow_held_out: bool = False) -> list[Question]:
    """Every valid new question about the scene with its canonical answer.

    'is there a {colour} {shape}?' is asked for each pair in the scene and for each absent
    training pair (every absent pair with `allow_held_out=True`); 'which shape is {colour}?' only
    for colours that exactly one object has; the other forms for every shape, colour, background
    or cell. Drawing uniformly from this list asks mostly about absent things (answer "no");
    `random_new_question` draws balanced.
    """
    if not 1 <= len(scene.objects) <= 3:
        raise ValueError(f"questions are defined for 1 to 3 objects, not {len(scene.objects)}")
    out = []
    shapes_here = {o.shape for o in scene.objects}
    for shape in SHAPES:
        said = with_evidence(scene, "is_there_shape", shape, _yes(shape in shapes_here))
        out.append(Question("is_there_shape", f"is there {article(shape)} {shape}?", said))
    pairs_here = {o.pair for o in scene.objects}
    askable = set(TRAINING_PAIRS) | (set(HELD_OUT_PAIRS) if allow_held_out else set()) | pairs_here
    for colour in COLOURS:
        for shape in SHAPES:
            if (colour, shape) in askable:
                out.append(Question(
                    "is_there_object",
                    f"is there {article(colour)} {colour} {shape}?",
                    with_evidence(scene, "is_there_object", f"{colour} {shape}", _yes((colour, shape) in pairs_here)),
                ))
    for background in BACKGROUNDS:
        said = with_evidence(scene, "is_background", background, _yes(scene.background == background))
        out.append(Question("is_background", f"is the background {background}?", said))
    for colour in COLOURS:
        having = [o for o in scene.objects if o.colour == colour]
        if len(having) == 1:
            out.append(Question("which_shape", f"which shape is {colour}?", having[0].shape))
    for (row, col), phrase in POSITIONS.items():
        obj = scene.at(row, col)
        said = object_answer(obj.size, obj.colour, obj.shape) if obj else "nothing"
        out.append(Question("what_is_at", f"what is {phrase}?", said))
    for colour in COLOURS:
        n = sum(o.colour == colour for o in scene.objects)
        said = with_evidence(scene, "count_colour", colour, COUNT_WORDS[n])
        out.append(Question("count_colour", f"how many {colour} shapes are there?", said))
    for shape in SHAPES:
        n = sum(o.shape == shape for o in scene.objects)
        said = with_evidence(scene, "count_shape", shape, COUNT_WORDS[n])
        out.append(Question("count_shape", f"how many {shape}s are there?", said))
    return out


def _yes(truth: bool) -> str:
    return "yes" if truth else "no"


def random_new_question(
    rng: random.Random, scene: Scene, form: str | None = None, allow_held_out: bool = False, near_miss_p: float = 0.0
) -> Question:
    """A new question drawn for training or evaluation: the form uniform among the valid ones,
    then a fair coin between questions about absent things (answer "no", "none" or "nothing")
    and the rest, then a question uniform within that half.

    So "yes" and "no" are equally likely for every yes/no form, as are "none" and a count above
    zero. With `allow_held_out=False` the scene must hold no held-out pair (ValueError) and no
    question names one. With `near_miss_p`, that share of the absent 'is there a {colour}
    {shape}?' questions are near misses, about an absent pair whose colour or shape is there
    (training asks them: drawn uniformly, an absent pair's colour is mostly absent too, and a
    model that compares colours alone is right).
    """
    if not allow_held_out and scene.has_held_out:
        raise ValueError("the scene holds a held-out pair; pass allow_held_out=True to ask about it")
    questions = new_questions_for(scene, allow_held_out)
    forms = [f for f in NEW_QUESTION_FORMS if any(q.form == f for q in questions)]
    if form is None:
        form = rng.choice(forms)
    elif form not in NEW_QUESTION_FORMS:
        raise ValueError(f"unknown question form {form!r}; expected one of {tuple(NEW_QUESTION_FORMS)}")
    elif form not in forms:
        raise ValueError(f"no valid {form} question for this scene")
    pool = [q for q in questions if q.form == form]
    absent = [q for q in pool if verdict_of(q.answer) in ABSENT_ANSWERS]
    present = [q for q in pool if verdict_of(q.answer) not in ABSENT_ANSWERS]
    if absent and present:
        pool = absent if rng.random() < 0.5 else present
    # (no draw at all without near misses: the evaluator's cases stay the ones they were)
    if near_miss_p > 0 and form == "is_there_object" and pool is absent and rng.random() < near_miss_p:
        pool = [q for q in absent if is_near_miss(scene, q)] or absent
    return rng.choice(pool)


def is_near_miss(scene: Scene, q: Question) -> bool:
    """Whether an absent 'is there a {colour} {shape}?' names a colour or a shape that is there."""
    colour, shape = q.question.removesuffix("?").split()[-2:]
    return any(o.colour == colour or o.shape == shape for o in scene.objects)


# ---------------------------------------------------------------- reading a new question back


_COLOUR, _SHAPE = f"({alternatives(COLOURS)})", f"({alternatives(SHAPES)})"
_NEW_PATTERNS = {
    "is_there_shape": re.compile(rf"is there (an?) {_SHAPE}\?"),
    "is_there_object": re.compile(rf"is there (an?) {_COLOUR} {_SHAPE}\?"),
    "is_background": re.compile(rf"is the background ({alternatives(BACKGROUNDS)})\?"),
    "which_shape": re.compile(rf"which shape is {_COLOUR}\?"),
    "what_is_at": re.compile(rf"what is ({alternatives(POSITIONS.values())})\?"),
    "count_colour": re.compile(rf"how many {_COLOUR} shapes are there\?"),
    "count_shape": re.compile(rf"how many {_SHAPE}s are there\?"),
}


def new_question_form(question: str) -> str:
    """The form name of a new question in its canonical text; ValueError for any other text."""
    for form, pattern in _NEW_PATTERNS.items():
        m = pattern.fullmatch(question)
        if m is None:
            continue
        if form.startswith("is_there") and m.group(1) != article(m.group(2)):
            raise ValueError(f"{question!r}: say '{article(m.group(2))} {m.group(2)}'")
        return form
    raise ValueError(f"not a new question form: {question!r}; expected e.g. 'is there a red square?'")


def answer_new(scene: Scene, question: str) -> str:
    """The canonical answer to a new question (canonical text) about the scene.

    ValueError when the text is no new form, or for 'which shape is {colour}?' when not exactly
    one object has that colour.
    """
    form = new_question_form(question)
    g = _NEW_PATTERNS[form].fullmatch(question).groups()
    if form == "which_shape":
        having = [o for o in scene.objects if o.colour == g[0]]
        if len(having) != 1:
            raise ValueError(f"{question!r} needs exactly one {g[0]} object, the scene has {len(having)}")
        return having[0].shape
    if form == "what_is_at":
        obj = scene.at(*CELL_OF_POSITION[g[0]])
        return f"a {obj.size} {obj.colour} {obj.shape}" if obj else "nothing"
    if form == "is_there_shape":
        asked, verdict = g[1], "yes" if any(o.shape == g[1] for o in scene.objects) else "no"
    elif form == "is_there_object":
        asked, verdict = f"{g[1]} {g[2]}", "yes" if scene.find(g[1], g[2]) else "no"
    elif form == "is_background":
        asked, verdict = g[0], "yes" if scene.background == g[0] else "no"
    elif form == "count_colour":
        asked, verdict = g[0], COUNT_WORDS[len([o for o in scene.objects if o.colour == g[0]])]
    else:  # count_shape
        asked, verdict = g[0], COUNT_WORDS[len([o for o in scene.objects if o.shape == g[0]])]
    return with_evidence(scene, form, asked, verdict)


# ---------------------------------------------------------------- questions in people's words

# A held-out phrasing is a template that holds one of these (as whole words). They never appear
# in what phrase_question says with held_out=False; with held_out=True it always says one.
HELD_OUT_QUESTION_PHRASINGS: tuple[str, ...] = ("do you see", "colour", "coloured", "tell me")

# form -> its alternatives. Slots: {shape}, {shapes} (plural), {colour}, {a} (article before
# the colour), {pos} (a phrase of captions.POSITION_WORDS), {bg} (of captions.BACKGROUND_WORDS).
QUESTION_PHRASINGS: dict[str, tuple[str, ...]] = {
    "count": (
        "how many shapes are in the picture?",
        "how many shapes are in the image?",
        "how many objects are there?",
        "count the shapes",
        "what is the number of shapes?",
        "how many shapes can you count?",
        "how many shapes do you see?",
        "tell me how many shapes there are",
    ),
    "colour_of_shape": (
        "what's the color of the {shape}?",
        "what color is the {shape} in the picture?",
        "which color is the {shape}?",
        "what color does the {shape} have?",
        "the {shape} is what color?",
        "what colour is the {shape}?",
        "what's the colour of the {shape}?",
    ),
    "shape_at": (
        "what shape is {pos}?",
        "which shape is {pos}?",
        "what is the shape {pos}?",
        "what kind of shape is {pos}?",
        "what shape do you see {pos}?",
    ),
    "where_is": (
        "where's the {colour} {shape}?",
        "where is the {colour} {shape} located?",
        "in which part of the picture is the {colour} {shape}?",
        "where is the {shape} that is {colour}?",
        "where does the {colour} {shape} sit?",
        "tell me where the {colour} {shape} is",
    ),
    "background": (
        "what's the color of the background?",
        "what is the background color?",
        "which color is the background?",
        "what color is the background of the picture?",
        "what colour is the background?",
    ),
    "is_there_shape": (
        "is there any {shape}?",
        "is there a {shape} in the picture?",
        "does the picture have a {shape}?",
        "can you see a {shape}?",
        "is any of the shapes a {shape}?",
        "do you see a {shape}?",
    ),
    "is_there_object": (
        "is there any {colour} {shape}?",
        "is there {a} {colour} {shape} in the picture?",
        "does the picture have {a} {colour} {shape}?",
        "can you see {a} {colour} {shape}?",
        "is there a {shape} that is {colour}?",
        "do you see {a} {colour} {shape}?",
    ),
    "is_background": (
        "is the background {bg}?",
        "is the picture's background {bg}?",
        "is the background color {bg}?",
        "is it on a {bg} background?",
        "is this a {bg} background?",
        "is the background colour {bg}?",
    ),
    "which_shape": (
        "what shape is {colour}?",
        "which shape is colored {colour}?",
        "which of the shapes is {colour}?",
        "what is the {colour} shape?",
        "which shape has the color {colour}?",
        "which shape is coloured {colour}?",
    ),
    "what_is_at": (
        "what is {pos}?",
        "what's {pos}?",
        "what can be seen {pos}?",
        "what is there {pos}?",
        "which object is {pos}?",
        "what do you see {pos}?",
    ),
    "count_colour": (
        "how many {colour} shapes are in the picture?",
        "count the {colour} shapes",
        "how many shapes are {colour}?",
        "what is the number of {colour} shapes?",
        "how many {colour} objects are there?",
        "how many {colour} shapes do you see?",
    ),
    "count_shape": (
        "how many {shapes} are in the picture?",
        "count the {shapes}",
        "what is the number of {shapes}?",
        "how many of the shapes are {shapes}?",
        "how many {shapes} do you see?",
    ),
}
CANONICAL_SHARE = 0.25  # how often phrase_question (held_out=False) says the canonical text

is_held_out_phrasing = phrase_finder(HELD_OUT_QUESTION_PHRASINGS)  # (text) -> bool, as whole words


def _template_held_out(template: str) -> bool:
    return is_held_out_phrasing(without_slots(template))


# canonical text of every form, canonical and new, read into its slots
_SLOTS = {
    "count": re.compile(r"how many shapes are there\?"),
    "colour_of_shape": re.compile(rf"what color is the (?P<shape>{alternatives(SHAPES)})\?"),
    "shape_at": re.compile(rf"what shape is (?P<position>{alternatives(POSITIONS.values())})\?"),
    "where_is": re.compile(rf"where is the (?P<colour>{alternatives(COLOURS)}) (?P<shape>{alternatives(SHAPES)})\?"),
    "background": re.compile(r"what color is the background\?"),
    "is_there_shape": re.compile(rf"is there an? (?P<shape>{alternatives(SHAPES)})\?"),
    "is_there_object": re.compile(rf"is there an? (?P<colour>{alternatives(COLOURS)}) (?P<shape>{alternatives(SHAPES)})\?"),
    "is_background": re.compile(rf"is the background (?P<background>{alternatives(BACKGROUNDS)})\?"),
    "which_shape": re.compile(rf"which shape is (?P<colour>{alternatives(COLOURS)})\?"),
    "what_is_at": re.compile(rf"what is (?P<position>{alternatives(POSITIONS.values())})\?"),
    "count_colour": re.compile(rf"how many (?P<colour>{alternatives(COLOURS)}) shapes are there\?"),
    "count_shape": re.compile(rf"how many (?P<shape>{alternatives(SHAPES)})s are there\?"),
}


def phrase_question(question: Question, rng: random.Random, held_out: bool = False) -> str:
    """A natural variant of a question (canonical or new form) with the same answer.

    With `held_out=False` the canonical text a quarter of the time, otherwise an alternative
    that holds no held-out phrasing; with `held_out=True` always one of the form's held-out
    alternatives. Positions and backgrounds take their caption synonyms ('at the top left',
    'grey'). A pure function of the generator's state.
    """
    if question.form not in _SLOTS:
        raise ValueError(f"unknown question form {question.form!r}")
    m = _SLOTS[question.form].fullmatch(question.question)
    if m is None:
        raise ValueError(f"{question.question!r} is not the canonical text of a {question.form} question")
    if not held_out and rng.random() < CANONICAL_SHARE:
        return question.question
    templates = [t for t in QUESTION_PHRASINGS[question.form] if _template_held_out(t) == held_out]
    slots = m.groupdict()
    template = rng.choice(templates)
    fill = {}
    if "shape" in slots:
        fill.update(shape=slots["shape"], shapes=slots["shape"] + "s")
    if "colour" in slots:
        fill.update(colour=slots["colour"], a=article(slots["colour"]))
    if "position" in slots:
        fill["pos"] = rng.choice(POSITION_WORDS[CELL_OF_POSITION[slots["position"]]])
    if "background" in slots:
        fill["bg"] = rng.choice(BACKGROUND_WORDS[slots["background"]])
    return template.format(**fill)
