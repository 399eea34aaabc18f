"""Two reference models with the pipeline's API, to test the evaluator before any model exists.

`OracleModel` answers with the contract's own code (parser, renderer, analyser, edits,
questions): it must score 100 %, which proves that those pieces agree with each other. People's
words have no parser, so for those cases it looks up the answers in the case set it is shown
first (`prepare`): that proves the scoring of the natural rows, not any understanding.
`RandomModel` guesses (random scenes, random answer words): it must score near 0 %.
"""

from __future__ import annotations

import random

from PIL import Image

from ..shapesworld.analyse import analyse
from ..shapesworld.captions import canonical_caption, parse_caption
from ..shapesworld.chitchat import reply_for
from ..shapesworld.edits import parse_edit
from ..shapesworld.more_questions import answer_new, new_question_form, read_in_words
from ..shapesworld.questions import ANSWER_WORDS, answer
from ..shapesworld.render import render
from ..shapesworld.world import random_scene


def _text_of(content) -> str:
    """The text of a message's content (a string, or a list of strings and images)."""
    if isinstance(content, str):
        return content
    return " ".join(p for p in content if isinstance(p, str))


def _images_of(content) -> list[Image.Image]:
    if isinstance(content, str):
        return []
    return [p for p in content if isinstance(p, Image.Image)]


def _answer(scene, question: str) -> str:
    """The canonical answer to a question in canonical words, of the contract's forms or the new ones."""
    try:
        new_question_form(question)
    except ValueError:
        return answer(scene, question)
    return answer_new(scene, question)


class OracleModel:
    """Perfect answers computed from the prompt and the analysed input image."""

    def __init__(self):
        self.requests, self.answers, self.edits, self.chitchat = {}, {}, {}, set()

    def prepare(self, cases, natural) -> None:
        """Learn the cases in people's words (their texts have no parser to read them with)."""
        if natural is None:
            return
        self.requests = {c.request.text: c.request for c in natural.request}
        self.answers = {(c.question, c.scene): c.answer for c in natural.question}
        self.edits = {(c.instruction, c.scene): c.expected for c in natural.edit}
        self.chitchat = {c.message for c in natural.chitchat}

    def text_to_image(self, prompts: list[str], seed: int = 0) -> list[Image.Image]:
        return [render(parse_caption(p)) for p in prompts]

    def caption(self, image: Image.Image) -> str:
        return canonical_caption(analyse(image))

    def answer(self, image: Image.Image, question: str) -> str:
        scene = analyse(image)
        return self.answers.get((question, scene)) or _answer(scene, question)

    def edit(self, image: Image.Image, instruction: str, seed: int = 0) -> Image.Image:
        scene = analyse(image)
        if (instruction, scene) in self.edits:
            return render(self.edits[instruction, scene])
        return render(parse_edit(instruction, scene).apply(scene))

    def chat_ended(self, messages: list[dict], seed: int = 0) -> tuple[list, bool]:
        return self.chat(messages, seed), True

    def chat(self, messages: list[dict], seed: int = 0) -> list[str | Image.Image]:
        """'draw <canonical caption>', a known request or chitchat, or an instruction or question
        about the last image."""
        text = _text_of(messages[-1]["content"])
        if text in self.requests:
            scene = self.requests[text].fill(random.Random(seed))
            return [f"here is {canonical_caption(scene)}", render(scene)]
        if text in self.chitchat:
            return [reply_for("about", "", "draw a small red circle in the center on a white background")]
        if text.startswith("draw "):
            scene = parse_caption(text.removeprefix("draw "))
            return [f"here is {canonical_caption(scene)}", render(scene)]
        if (said := read_in_words(text)) is not None:  # a scene said in words, and a question about it
            scene = parse_caption(said[0])
            return [self.answers.get((said[1], scene)) or _answer(scene, said[1])]
        images = [im for m in messages for im in _images_of(m["content"])]
        if not images:
            return ["please draw or upload an image first"]
        scene = analyse(images[-1])
        try:
            edited = parse_edit(text, scene).apply(scene)
        except ValueError:
            return [_answer(scene, text)]
        return [f"here is {canonical_caption(edited)}", render(edited)]


class RandomModel:
    """Guesses: a random scene for every image, a random answer word for every question."""

    def __init__(self, seed: int = 0):
        self.rng = random.Random(f"random-model:{seed}")

    def _image(self) -> Image.Image:
        return render(random_scene(self.rng, allow_held_out=True))

    def text_to_image(self, prompts: list[str], seed: int = 0) -> list[Image.Image]:
        return [self._image() for _ in prompts]

    def caption(self, image: Image.Image) -> str:
        return canonical_caption(random_scene(self.rng, allow_held_out=True))

    def answer(self, image: Image.Image, question: str) -> str:
        return self.rng.choice(ANSWER_WORDS)

    def edit(self, image: Image.Image, instruction: str, seed: int = 0) -> Image.Image:
        return self._image()

    def chat(self, messages: list[dict], seed: int = 0) -> list[str | Image.Image]:
        return ["here is a picture", self._image()]
