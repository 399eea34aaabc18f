"""New question forms and paraphrased questions: canonical answers, balance, held-out phrasings."""

import hashlib
import random
import re
from collections import Counter

import pytest

from transfusion.shapesworld.captions import POSITION_WORDS
from transfusion.shapesworld.more_questions import (
    COUNT_WORDS,
    HELD_OUT_QUESTION_PHRASINGS,
    NEW_ANSWER_WORDS,
    NEW_QUESTION_FORMS,
    QUESTION_PHRASINGS,
    EVIDENCE_FORMS,
    YES_NO_FORMS,
    answer_new,
    new_question_form,
    new_questions_for,
    phrase_question,
    random_new_question,
    evidence_of,
    verdict_of,
    with_evidence,
)
from transfusion.shapesworld.questions import QUESTION_FORMS, Question, answer, questions_for
from transfusion.shapesworld.world import (
    COLOURS,
    HELD_OUT_PAIRS,
    POSITIONS,
    SHAPES,
    Obj,
    Scene,
    random_scene,
)

SCENE = Scene(
    "black",
    (Obj("circle", "red", "small", 0, 0), Obj("circle", "blue", "large", 1, 1), Obj("square", "red", "small", 2, 2)),
)
HELD_OUT_RES = {p: re.compile(rf"\b{re.escape(p)}\b") for p in HELD_OUT_QUESTION_PHRASINGS}
HELD_OUT_PAIR_TEXT = [re.compile(rf"\b{c} {s}s?\b|\b{s}s? (?:in|that is) {c}\b") for c, s in HELD_OUT_PAIRS]


def held_out_in(text: str) -> list[str]:
    return [p for p, r in HELD_OUT_RES.items() if r.search(text)]


def test_new_questions_of_a_known_scene():
    qa = {q.question: verdict_of(q.answer) for q in new_questions_for(SCENE)}
    assert qa["is there a circle?"] == "yes" and qa["is there a triangle?"] == "no"
    assert qa["is there a red square?"] == "yes" and qa["is there a blue square?"] == "no"
    assert qa["is there an orange square?"] == "no"
    assert "is there an orange circle?" not in qa  # a held-out pair the scene lacks
    held_out = {q.question: q.answer for q in new_questions_for(SCENE, allow_held_out=True)}
    assert verdict_of(held_out["is there an orange circle?"]) == "no"
    assert qa["is the background black?"] == "yes" and qa["is the background gray?"] == "no"
    assert qa["which shape is blue?"] == "circle"
    assert "which shape is red?" not in qa  # two red objects
    assert qa["what is in the top left corner?"] == "a small red circle"
    assert qa["what is in the center?"] == "a large blue circle"
    assert qa["what is at the top?"] == "nothing"
    assert qa["how many red shapes are there?"] == "two"
    assert qa["how many green shapes are there?"] == "none"
    assert qa["how many circles are there?"] == "two"
    assert qa["how many diamonds are there?"] == "none"


def test_yes_no_and_count_answers_compare_each_object_first():
    full = {q.question: q.answer for q in new_questions_for(SCENE)}
    assert full["how many red shapes are there?"] == (  # the caption's order
        "a red circle is red, a blue circle is not red, a red square is red, so two")
    assert full["is there a blue circle?"] == (
        "a red circle is not a blue circle, a blue circle is a blue circle, a red square is not a blue circle, so yes")
    # asked about a shape alone: the shapes alone
    assert full["is there a triangle?"] == (
        "a circle is not a triangle, a circle is not a triangle, a square is not a triangle, so no")
    assert full["how many circles are there?"] == (
        "a circle is a circle, a circle is a circle, a square is not a circle, so two")
    one = Scene("white", (Obj("diamond", "orange", "large", 1, 1),))
    assert answer_new(one, "how many circles are there?") == "a diamond is not a circle, so none"
    assert answer_new(one, "is there an orange circle?") == "an orange diamond is not an orange circle, so no"
    assert answer_new(one, "is there an orange diamond?") == "an orange diamond is an orange diamond, so yes"
    assert full["is the background gray?"] == "the background is black, so no"
    assert full["which shape is blue?"] == "circle" and full["what is at the top?"] == "nothing"
    assert {q.form for q in new_questions_for(SCENE) if q.answer != verdict_of(q.answer)} == set(EVIDENCE_FORMS)
    assert verdict_of("yes") == "yes" and evidence_of("yes") == ""  # a bare verdict is its own
    assert evidence_of(full["is the background gray?"]) == "the background is black"
    with pytest.raises(ValueError, match="without evidence"):
        with_evidence(SCENE, "which_shape", "blue", "circle")


def test_the_verdict_is_what_the_marks_say():
    """'yes' exactly when some object 'is' what was asked; a count is the number that are."""
    rng = random.Random("marks")
    for _ in range(300):
        scene = random_scene(rng, allow_held_out=True)
        for q in new_questions_for(scene, allow_held_out=True):
            if q.form not in EVIDENCE_FORMS or q.form == "is_background":
                continue
            marks = evidence_of(q.answer).split(", ")
            assert len(marks) == len(scene.objects)
            hits = sum(" is not " not in m for m in marks)
            want = ("yes" if hits else "no") if q.form in YES_NO_FORMS else list(COUNT_WORDS.values())[hits]
            assert verdict_of(q.answer) == want, q


@pytest.mark.parametrize("allow_held_out", [False, True])
def test_new_questions_for_and_answer_new_agree(allow_held_out):
    rng = random.Random(f"more questions:{allow_held_out}")
    forms = set()
    for _ in range(500):
        scene = random_scene(rng, allow_held_out=allow_held_out)
        for q in new_questions_for(scene, allow_held_out):
            assert new_question_form(q.question) == q.form
            assert answer_new(scene, q.question) == q.answer
            assert verdict_of(q.answer) in NEW_ANSWER_WORDS
            forms.add(q.form)
    assert forms == set(NEW_QUESTION_FORMS)


def test_answer_new_rejects():
    for bad in [
        "which shape is red?",  # two red objects
        "which shape is green?",  # none
        "is there a orange square?",  # the article
        "Is there a circle?",
        "is there a circle",
        "how many shapes are there?",  # a canonical form, answered by questions.answer
        "how many circle are there?",
    ]:
        with pytest.raises(ValueError):
            answer_new(SCENE, bad)


def test_random_new_questions_are_balanced():
    """'yes' as often as 'no' for each yes/no form; absent things asked half the time elsewhere."""
    rng = random.Random(3)
    by_form: dict[str, Counter] = {f: Counter() for f in NEW_QUESTION_FORMS}
    for _ in range(7000):
        scene = random_scene(rng)
        q = random_new_question(rng, scene)
        assert q in new_questions_for(scene)
        assert not any(r.search(q.question) for r in HELD_OUT_PAIR_TEXT)
        by_form[q.form][verdict_of(q.answer)] += 1
    for form in YES_NO_FORMS:
        n = sum(by_form[form].values())
        assert n > 700 and set(by_form[form]) == {"yes", "no"}
        assert abs(by_form[form]["yes"] / n - 0.5) < 0.05, (form, by_form[form])
    for form, absent in [("count_colour", "none"), ("count_shape", "none"), ("what_is_at", "nothing")]:
        n = sum(by_form[form].values())
        assert abs(by_form[form][absent] / n - 0.5) < 0.05, (form, by_form[form])
    assert sum(by_form["which_shape"].values()) > 700


def test_near_misses_ask_about_a_colour_or_shape_that_is_there():
    """With near_miss_p=1 every absent 'is there a {colour} {shape}?' shares a colour or a shape
    with an object there (when the scene allows one); without, most do not, and the draw is the
    one it always was."""
    def absent_shares(near_miss_p: float, seed: int = 4) -> tuple[int, int]:
        rng, shared, n = random.Random(seed), 0, 0
        for _ in range(600):
            scene = random_scene(rng)
            q = random_new_question(rng, scene, "is_there_object", near_miss_p=near_miss_p)
            if verdict_of(q.answer) == "no":
                colour, shape = q.question.removesuffix("?").split()[-2:]
                shared += any(o.colour == colour or o.shape == shape for o in scene.objects)
                n += 1
        return shared, n

    shared, n = absent_shares(1.0)
    assert n > 200 and shared == n
    shared, n = absent_shares(0.0)
    assert shared < 0.8 * n
    # no near misses asked (the evaluator): the very questions drawn before near misses existed
    rng = random.Random(9)
    drawn = [random_new_question(rng, random_scene(rng)).question for _ in range(300)]
    assert hashlib.sha256("|".join(drawn).encode()).hexdigest()[:16] == "8bd4564252b3eb55"


def test_random_new_question_of_a_form_and_refusals():
    rng = random.Random(0)
    assert random_new_question(rng, SCENE, "which_shape") == Question("which_shape", "which shape is blue?", "circle")
    two_red = Scene("white", (Obj("circle", "red", "small", 0, 0), Obj("square", "red", "small", 0, 1)))
    with pytest.raises(ValueError, match="no valid"):
        random_new_question(rng, two_red, "which_shape")
    with pytest.raises(ValueError, match="unknown"):
        random_new_question(rng, two_red, "colour_of_shape")
    held = Scene("white", (Obj("triangle", "purple", "small", 0, 0),))
    with pytest.raises(ValueError, match="held-out"):
        random_new_question(rng, held)
    random_new_question(rng, held, allow_held_out=True)


# ---------------------------------------------------------------- paraphrases

# an independent reader of a paraphrase: its kind from its words, its slots from the world's words
_COLOUR_RE = re.compile(rf"\b({'|'.join(COLOURS)})\b")
_SHAPE_RE = re.compile(rf"\b({'|'.join(SHAPES)})s?\b")
_BACKGROUND_RE = re.compile(r"\b(white|black|gray|grey)\b")
_POSITION_PHRASES = sorted(((p, cell) for cell, ps in POSITION_WORDS.items() for p in ps), key=lambda pc: -len(pc[0]))
KIND_OF_FORM = {
    "count": "count", "count_colour": "count", "count_shape": "count",
    "is_there_shape": "yes/no", "is_there_object": "yes/no", "is_background": "yes/no",
    "where_is": "where",
    "colour_of_shape": "what", "shape_at": "what", "background": "what", "which_shape": "what", "what_is_at": "what",
}


def kind_of(text: str) -> str:
    if re.search(r"\bhow many\b|\bcount\b|\bnumber of\b", text):
        return "count"
    if re.match(r"(is|does|can|do) ", text):
        return "yes/no"
    if re.search(r"\bwhere\b|\bwhich part\b", text):
        return "where"
    return "what"


def read_slots(text: str) -> dict:
    cells = []
    rest = text
    for phrase, cell in _POSITION_PHRASES:  # longest first: 'at the top left' before 'at the top'
        if re.search(rf"\b{phrase}\b", rest):
            cells.append(cell)
            rest = re.sub(rf"\b{phrase}\b", "", rest)
    backgrounds = [{"grey": "gray"}.get(b, b) for b in _BACKGROUND_RE.findall(text)]
    return {
        "colour": _COLOUR_RE.findall(text),
        "shape": _SHAPE_RE.findall(text),
        "position": [POSITIONS[c] for c in cells],
        "background": backgrounds,
    }


def canonical_of(form: str, slots: dict) -> str:
    """The canonical text of `form` with the slots read from a paraphrase (each said once)."""
    label = {**QUESTION_FORMS, **NEW_QUESTION_FORMS}[form]
    needed = set(re.findall(r"\{(\w+)\}", label))
    for name, values in slots.items():
        assert len(values) == (1 if name in needed else 0), (form, slots)
    text = label.format(**{name: values[0] for name, values in slots.items() if values})
    return text.replace("a orange", "an orange")


def all_questions(scene: Scene, rng: random.Random) -> list[Question]:
    """Every canonical question, and a dozen balanced new ones."""
    return questions_for(scene) + [random_new_question(rng, scene) for _ in range(12)]


@pytest.mark.parametrize("held_out", [False, True])
def test_phrase_question_keeps_the_question_and_its_answer(held_out):
    rng = random.Random(f"phrase:{held_out}")
    forms = set()
    for _ in range(300):
        scene = random_scene(rng)
        for q in all_questions(scene, rng):
            text = phrase_question(q, rng, held_out)
            assert text == text.strip() and "  " not in text and text == text.lower()
            assert kind_of(text) == KIND_OF_FORM[q.form], (q, text)
            same = canonical_of(q.form, read_slots(text))
            assert same == q.question, (q, text)
            if q.form in QUESTION_FORMS:
                assert answer(scene, same) == q.answer  # the canonical answer of the original
            else:
                assert answer_new(scene, same) == q.answer
            forms.add(q.form)
    assert forms == set(QUESTION_FORMS) | set(NEW_QUESTION_FORMS)


def test_held_out_phrasings_only_when_asked():
    rng = random.Random(8)
    said = {False: Counter(), True: Counter()}
    canonical = {False: 0, True: 0}
    for _ in range(300):
        scene = random_scene(rng)
        for q in all_questions(scene, rng):
            for held_out in (False, True):
                text = phrase_question(q, rng, held_out)
                found = held_out_in(text)
                assert bool(found) == held_out, (held_out, text)
                said[held_out].update(found)
                canonical[held_out] += text == q.question
    assert set(said[True]) == set(HELD_OUT_QUESTION_PHRASINGS)  # each is used
    assert canonical[True] == 0 and canonical[False] > 0


def test_every_form_has_both_kinds_of_phrasing():
    """About one alternative in five is held out, at least one for every form."""
    assert set(QUESTION_PHRASINGS) == set(QUESTION_FORMS) | set(NEW_QUESTION_FORMS)
    total = held = 0
    for form, templates in QUESTION_PHRASINGS.items():
        words = [re.sub(r"\{\w+\}", "", t) for t in templates]
        n_held = sum(bool(held_out_in(w)) for w in words)
        assert 1 <= n_held < len(templates), form
        total, held = total + len(templates), held + n_held
    assert 0.15 <= held / total <= 0.3


def test_phrase_question_is_a_pure_function_of_the_rng():
    qs = all_questions(SCENE, random.Random(1))
    for held_out in (False, True):
        a, b = random.Random(5), random.Random(5)
        assert [phrase_question(q, a, held_out) for q in qs] == [phrase_question(q, b, held_out) for q in qs]


def test_phrase_question_examples():
    rng = random.Random(0)
    texts = {phrase_question(Question("count", "how many shapes are there?", "two"), rng) for _ in range(200)}
    assert {"how many shapes are there?", "count the shapes", "how many objects are there?"} <= texts
    assert "how many shapes do you see?" not in texts
    texts = {phrase_question(Question("colour_of_shape", "what color is the circle?", "red"), rng, True) for _ in range(50)}
    assert texts == {"what colour is the circle?", "what's the colour of the circle?"}


def test_phrase_question_rejects_a_text_that_is_not_its_form():
    with pytest.raises(ValueError):
        phrase_question(Question("count", "how many circles are there?", "one"), random.Random(0))
    with pytest.raises(ValueError):
        phrase_question(Question("nonsense", "how many shapes are there?", "one"), random.Random(0))


def test_new_forms_do_not_clash_with_the_canonical_ones():
    assert not set(NEW_QUESTION_FORMS) & set(QUESTION_FORMS)
