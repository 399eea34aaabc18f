"""ShapesWorld: the world the demo model learns, rendered, described and checked by this package.

`world` holds the contract's constants and `Scene`; `render` draws a scene; `captions`,
`questions` and `edits` turn scenes into text and back; `documents` is the training stream;
`analyse` reads an image back into a scene, so every answer of the model can be checked.
See `docs/shapesworld.md`: the contract (part 1) and the design choices (part 2).
"""

from .analyse import Unreadable, analyse
from .captions import canonical_caption, paraphrase, parse_caption
from .documents import DEFAULT_MIXTURE, check_mixture, document, stream, text_corpus
from .edits import EDIT_KINDS, Edit, parse_edit, random_edit
from .questions import Question, answer, questions_for
from .render import render
from .world import HELD_OUT_PAIRS, Obj, Scene, random_scene

__all__ = [
    "DEFAULT_MIXTURE",
    "check_mixture",
    "EDIT_KINDS",
    "HELD_OUT_PAIRS",
    "Edit",
    "Obj",
    "Question",
    "Scene",
    "Unreadable",
    "analyse",
    "answer",
    "canonical_caption",
    "document",
    "paraphrase",
    "parse_caption",
    "parse_edit",
    "questions_for",
    "random_edit",
    "random_scene",
    "render",
    "stream",
    "text_corpus",
]
