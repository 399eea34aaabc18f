"""Questions about a scene and their canonical answers (the contract's five forms).

`questions_for` lists every valid question of a scene with its answer; `answer` reads a question
back from its text. They are written apart on purpose, and a test checks that they agree.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .words import alternatives
from .world import BACKGROUNDS, CELL_OF_POSITION, COLOURS, POSITIONS, SHAPES, Scene

NUMBER_WORDS = {1: "one", 2: "two", 3: "three"}

# form name -> a human label, in the order the evaluator reports them
QUESTION_FORMS: dict[str, str] = {
    "count": "how many shapes are there?",
    "colour_of_shape": "what color is the {shape}?",
    "shape_at": "what shape is {position}?",
    "where_is": "where is the {colour} {shape}?",
    "background": "what color is the background?",
}


class Question(NamedTuple):
    form: str  # a key of QUESTION_FORMS
    question: str
    answer: str


def questions_for(scene: Scene) -> list[Question]:
    """Every valid question about the scene with its canonical answer.

    'what color is the {shape}?' only for shapes that occur once; 'where is the {colour} {shape}?'
    only for colour-shape pairs that occur once; 'what shape is ...?' for all nine cells.
    """
    if not 1 <= len(scene.objects) <= 3:
        raise ValueError(f"questions are defined for 1 to 3 objects, not {len(scene.objects)}")
    out = [Question("count", "how many shapes are there?", NUMBER_WORDS[len(scene.objects)])]
    for shape in SHAPES:
        having = [o for o in scene.objects if o.shape == shape]
        if len(having) == 1:
            out.append(Question("colour_of_shape", f"what color is the {shape}?", having[0].colour))
    for (row, col), phrase in POSITIONS.items():
        obj = scene.at(row, col)
        out.append(Question("shape_at", f"what shape is {phrase}?", obj.shape if obj else "nothing"))
    for obj in scene.unique_objects():
        out.append(Question("where_is", f"where is the {obj.colour} {obj.shape}?", obj.position))
    out.append(Question("background", "what color is the background?", scene.background))
    return out


_PATTERNS = {
    "count": re.compile(r"how many shapes are there\?"),
    "colour_of_shape": re.compile(rf"what color is the ({alternatives(SHAPES)})\?"),
    "shape_at": re.compile(rf"what shape is ({alternatives(POSITIONS.values())})\?"),
    "where_is": re.compile(rf"where is the ({alternatives(COLOURS)}) ({alternatives(SHAPES)})\?"),
    "background": re.compile(r"what color is the background\?"),
}


def question_form(question: str) -> str:
    """The form name of a contract question; ValueError for any other text."""
    for form, pattern in _PATTERNS.items():
        if pattern.fullmatch(question):
            return form
    raise ValueError(f"not a question of the contract: {question!r}")


def answer(scene: Scene, question: str) -> str:
    """The canonical answer to a contract question about the scene.

    ValueError when the text is not a contract question or the question is not valid for this
    scene (a shape that is absent or not unique, a colour-shape pair that is absent or repeated).
    """
    form = question_form(question)
    m = _PATTERNS[form].fullmatch(question)
    if form == "count":
        return NUMBER_WORDS[len(scene.objects)]
    if form == "background":
        return scene.background
    if form == "shape_at":
        obj = scene.at(*CELL_OF_POSITION[m.group(1)])
        return obj.shape if obj else "nothing"
    if form == "colour_of_shape":
        having = [o for o in scene.objects if o.shape == m.group(1)]
        if len(having) != 1:
            raise ValueError(f"{question!r} needs exactly one {m.group(1)}, the scene has {len(having)}")
        return having[0].colour
    # where_is
    having = scene.find(m.group(1), m.group(2))
    if len(having) != 1:
        raise ValueError(f"{question!r} needs exactly one such object, the scene has {len(having)}")
    return having[0].position


# every answer any question can have (what a guessing model chooses from)
ANSWER_WORDS: tuple[str, ...] = (
    tuple(NUMBER_WORDS.values())
    + tuple(COLOURS)
    + SHAPES
    + ("nothing",)
    + tuple(POSITIONS.values())
    + tuple(BACKGROUNDS)
)
