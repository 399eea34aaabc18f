"""What the app shows of ShapesWorld: examples the built-in model handles well, placeholders, About.

The editor's example pictures are ShapesWorld scenes, rendered into `assets/examples/` (the
files are committed; `example_images` writes any that are missing). The chat opens with what
people type first, in words the model was trained on (a request naming some attributes, a
greeting); the questions and instructions use the canonical forms of `docs/shapesworld.md`,
which the model follows best (its rows in the model card). `app_world` gathers it all for
the app (`transfusion.app.world`).
"""

from __future__ import annotations

from pathlib import Path

from ..app.world import AppWorld
from .captions import canonical_caption
from .render import render
from .world import BACKGROUNDS, COLOURS, HELD_OUT_PAIRS, POSITIONS, SHAPES, SIZES, Obj, Scene

FOLDER = Path(__file__).resolve().parents[2] / "assets" / "examples"

SCENES: dict[str, Scene] = {
    "red_circle": Scene("white", (Obj("circle", "red", "large", 1, 1),)),
    "square_and_triangle": Scene("black", (Obj("square", "blue", "small", 0, 0), Obj("triangle", "yellow", "large", 2, 1))),
    "three_shapes": Scene("gray", (Obj("circle", "pink", "small", 0, 2), Obj("diamond", "green", "large", 1, 0),
                                   Obj("square", "orange", "large", 2, 2))),
}

# (picture, instruction) for the editor
EDITS: list[tuple[str, str]] = [
    ("red_circle", "make the red circle blue"),
    ("red_circle", "move the red circle at the top"),
    ("square_and_triangle", "remove the blue square"),
    ("square_and_triangle", "make the yellow triangle smaller"),
    ("three_shapes", "change the background to white"),
    ("red_circle", "add a small blue circle in the top left corner"),
]


def example_images(folder: str | Path = FOLDER) -> dict[str, Path]:
    """name -> PNG path of each example picture, rendering any that are missing."""
    folder = Path(folder)
    paths = {}
    for name, scene in SCENES.items():
        path = folder / f"{name}.png"
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            render(scene).save(path)
        paths[name] = path
    return paths


def chat_examples(folder: str | Path = FOLDER) -> list[dict]:
    """MultimodalTextbox values: draw, ask about a picture, edit one, then follow-ups."""
    images = example_images(folder)
    return [
        {"text": "draw a red circle", "files": []},
        {"text": "what can you draw?", "files": []},
        {"text": "a big blue square and a small yellow triangle on black", "files": []},
        {"text": "draw " + canonical_caption(SCENES["red_circle"]), "files": []},
        {"text": "make the red circle blue", "files": []},
        {"text": "move the red circle at the top", "files": []},
        {"text": "how many shapes are there?", "files": [str(images["three_shapes"])]},
        {"text": "what color is the background?", "files": [str(images["square_and_triangle"])]},
        {"text": "describe this image", "files": [str(images["three_shapes"])]},
        {"text": "remove the blue square", "files": [str(images["square_and_triangle"])]},
    ]


def edit_examples(folder: str | Path = FOLDER) -> list[list[str]]:
    """[picture path, instruction] rows for the editor's gr.Examples."""
    images = example_images(folder)
    return [[str(images[name]), instruction] for name, instruction in EDITS]


def knows(image_size: int) -> str:
    """The About tab's first part: what a ShapesWorld model knows and how to ask for it."""
    held_out = ", ".join(f"{c} {s}" for c, s in sorted(HELD_OUT_PAIRS))
    return f"""
## What the model knows: ShapesWorld

The built-in model was trained from scratch, by this project, on **ShapesWorld**: {image_size} × {image_size}
pictures of one to three flat shapes on a plain background, each shape in its own cell of a 3 × 3 grid.
It knows nothing else: ask it for a cat and it says, in words, what it can draw instead.

| | words it knows |
| --- | --- |
| shapes | {", ".join(SHAPES)} |
| colours | {", ".join(COLOURS)} |
| sizes | {", ".join(SIZES)} |
| backgrounds | {", ".join(BACKGROUNDS)} |
| places | {"; ".join(POSITIONS.values())} |

- **Draw:** name what you care about and it fills in the rest (“draw a red circle”, “two blue squares on black”), or give a whole caption such as “a large red circle in the center on a white background” or “a small blue square in the top left corner and a large yellow triangle at the bottom on a black background” (objects in reading order: top row first, left to right).
- **Describe or ask** about an uploaded or drawn picture: “describe this image”, “how many shapes are there?”, “what color is the circle?”, “what shape is in the center?”, “where is the red circle?”, “what color is the background?”, “is there a circle?”.
- **Edit** (in the chat, the last picture; in the editor, the input): “make the red circle blue”, “move the red circle at the top”, “add a small green diamond in the bottom right corner”, “remove the blue square”, “make the red circle bigger” / “smaller”, “change the background to black”.
- **Never seen in training:** {held_out}. Ask for them to see whether it composes colours and shapes it learned apart.
""".strip()


def app_world(image_size: int) -> AppWorld:
    return AppWorld(
        name="ShapesWorld",
        intro="trained from scratch on ShapesWorld",
        chat_hint="Ask it to draw something, or attach a picture and ask about it or ask for an edit. "
                  "Follow-ups apply to the last picture.",
        chat_placeholder="draw a large red circle in the center on a white background",
        edit_placeholder="make the red circle blue",
        chat_examples=chat_examples(),
        edit_examples=edit_examples(),
        knows=knows(image_size),
        grade="python -m transfusion.evaluation --model {checkpoint}",
    )
