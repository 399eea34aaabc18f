"""Canonical captions, their parser, paraphrases, and the questions with their answers."""

import random
import re

import pytest

from transfusion.shapesworld.captions import (
    BACKGROUND_WORDS,
    canonical_caption,
    object_variants,
    paraphrase,
    parse_caption,
)
from transfusion.shapesworld.questions import QUESTION_FORMS, answer, question_form, questions_for
from transfusion.shapesworld.world import SHAPES, Obj, Scene, random_scene

EXAMPLE = Scene(
    "white", (Obj("circle", "red", "large", 0, 0), Obj("square", "blue", "small", 1, 1))
)


def test_contract_example():
    text = "a large red circle in the top left corner and a small blue square in the center on a white background"
    assert canonical_caption(EXAMPLE) == text
    assert parse_caption(text) == EXAMPLE


def test_one_and_three_objects():
    one = Scene("gray", (Obj("diamond", "green", "small", 2, 1),))
    assert canonical_caption(one) == "a small green diamond at the bottom on a gray background"
    three = Scene(
        "black",
        (Obj("triangle", "yellow", "large", 2, 2), Obj("circle", "pink", "small", 0, 1), Obj("square", "red", "small", 1, 0)),
    )
    assert canonical_caption(three) == (
        "a small pink circle at the top, a small red square on the left and "
        "a large yellow triangle in the bottom right corner on a black background"
    )


def test_round_trip_many_scenes():
    rng = random.Random(7)
    for _ in range(3000):
        scene = random_scene(rng, allow_held_out=True)
        text = canonical_caption(scene)
        assert parse_caption(text) == scene
        assert text == text.lower() and not text.endswith(".") and "  " not in text


@pytest.mark.parametrize(
    "text",
    [
        "A large red circle in the top left corner on a white background",  # capital
        "a large red circle in the top left corner on a white background.",  # full stop
        "a large red circle in the top left corner  on a white background",  # double space
        "a large red circle in the top left corner",  # no background
        "a large magenta circle in the top left corner on a white background",  # not a colour
        "a huge red circle in the top left corner on a white background",  # not a size
        "a small blue square in the center and a large red circle in the top left corner on a white background",  # order
        "a small blue square in the center and a large red circle in the center on a white background",  # same cell
        "a red circle, a blue square and a red square and a green circle on a white background",
        "draw a large red circle in the top left corner on a white background",  # a prompt
        "",
    ],
)
def test_parser_rejects_non_canonical(text):
    with pytest.raises(ValueError):
        parse_caption(text)


def test_no_caption_for_empty_scene():
    with pytest.raises(ValueError):
        canonical_caption(Scene("white", ()))


def test_paraphrases_name_every_attribute():
    rng = random.Random(3)
    seen = set()
    for _ in range(2000):
        scene = random_scene(rng)
        text = paraphrase(scene, rng)
        seen.add(text)
        body = text.lower()
        for obj in scene.objects:
            assert any(v in body for v in object_variants(obj)), (text, obj)
        assert any(re.search(rf"\b{w}\b", body) for w in BACKGROUND_WORDS[scene.background]), text
        n_shapes = sum(len(re.findall(rf"\b{s}\b", body)) for s in SHAPES)
        assert n_shapes == len(scene.objects), text
    assert len(seen) > 1900  # varied


def test_paraphrases_vary_the_form():
    rng = random.Random(4)
    scene = EXAMPLE
    texts = {paraphrase(scene, rng) for _ in range(300)}
    assert len(texts) > 100
    assert any(t.lower().startswith("draw") for t in texts)
    assert any(t.lower().startswith("a white background") for t in texts)
    assert any("big" in t for t in texts) and any("in the middle" in t for t in texts)


# ---------------------------------------------------------------- questions


def test_questions_of_a_known_scene():
    scene = Scene(
        "black",
        (Obj("circle", "red", "small", 0, 0), Obj("circle", "blue", "large", 1, 1), Obj("square", "red", "small", 2, 2)),
    )
    qa = {q.question: q.answer for q in questions_for(scene)}
    assert qa["how many shapes are there?"] == "three"
    assert qa["what color is the background?"] == "black"
    assert qa["what color is the square?"] == "red"
    assert "what color is the circle?" not in qa  # two circles: not unique
    assert qa["what shape is in the top left corner?"] == "circle"
    assert qa["what shape is at the top?"] == "nothing"
    assert qa["what shape is in the bottom right corner?"] == "square"
    assert qa["where is the blue circle?"] == "in the center"
    assert qa["where is the red circle?"] == "in the top left corner"
    assert len([q for q in qa if q.startswith("what shape is")]) == 9


def test_questions_for_and_answer_agree():
    rng = random.Random(11)
    forms = set()
    for _ in range(1000):
        scene = random_scene(rng)
        for q in questions_for(scene):
            assert question_form(q.question) == q.form
            assert answer(scene, q.question) == q.answer
            forms.add(q.form)
    assert forms == set(QUESTION_FORMS)


def test_answer_rejects_invalid_questions():
    scene = Scene("white", (Obj("circle", "red", "small", 0, 0), Obj("circle", "blue", "small", 0, 1)))
    for bad in ["what color is the circle?", "where is the green square?", "what is this?", "How many shapes are there?"]:
        with pytest.raises(ValueError):
            answer(scene, bad)
