"""The first things a new user types, on one model: `python -m transfusion.evaluation.first_minute --model DIR`.

Issue 16 opened with a table of what the shipped model answered to a new user's first
messages ("draw a red circle" drew a diamond, "hello" got a blank picture). This prints that
table for any checkpoint, so each stage's card shows it as measured, not as remembered: every
message is a fresh chat (the questions with the red-circle example picture attached), replied
to with the checkpoint's defaults and seed 0, greedy words; each picture in a reply is read
back by the analyser and said as its canonical caption. The evaluator grades these forms on
hundreds of cases; this is the demo's first minute, seen as a visitor sees it.
"""

from __future__ import annotations

import argparse

from PIL import Image

from ..shapesworld.captions import canonical_caption
from .score import read

# (what is typed, the example picture attached or None); the first five are the table
MESSAGES = (
    ("draw a red circle", None),
    ("draw a big red circle and a small blue square", None),
    ("hello, who are you?", None),
    ("draw a cat", None),
    ("is there a circle?", "red_circle"),
    ("is there a square?", "red_circle"),
    ("how many circles are there?", "red_circle"),
)


def picture_words(image: Image.Image) -> str:
    """What the analyser reads in a picture, said as a caption."""
    scene = read(image)
    return "a picture the analyser cannot read" if scene is None else f"a picture of {canonical_caption(scene)}"


def reply_words(parts: list) -> str:
    """A reply's parts in order: its words quoted, each picture as what it shows."""
    said = [picture_words(p) if not isinstance(p, str) else f'"{p.strip()}"'
            for p in parts if not isinstance(p, str) or p.strip()]
    return " and ".join(said) if said else "(nothing)"


def first_minute(model, images: dict) -> list[tuple[str, str]]:
    """(what is typed, what came back) for each message; `images` maps an example's name to its picture."""
    rows = []
    for text, attached in MESSAGES:
        content = [images[attached], text] if attached else [text]
        parts = model.chat([{"role": "user", "content": content}], seed=0)
        rows.append((f"({attached.replace('_', ' ')}, attached) {text}" if attached else text, reply_words(parts)))
    return rows


def format_rows(rows: list[tuple[str, str]]) -> str:
    lines = ["| typed in the chat | what came back |", "| --- | --- |"]
    return "\n".join(lines + [f"| {typed} | {came_back} |" for typed, came_back in rows])


def main(argv=None) -> None:
    from ..shapesworld.app import example_images
    from .cli import MODEL_HELP, add_model_args, model_from_args

    p = argparse.ArgumentParser(prog="python -m transfusion.evaluation.first_minute", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help=MODEL_HELP)
    add_model_args(p)
    p.set_defaults(seed=0)  # the replies' seed, as the docstring says: not a flag
    args = p.parse_args(argv)
    model = model_from_args(args)
    images = {name: Image.open(path).convert("RGB") for name, path in example_images().items()}
    print(format_rows(first_minute(model, images)))


if __name__ == "__main__":
    main()
