"""Examples that the built-in model handles well: chat prompts and editor pictures.

The editor's example pictures are ShapesWorld scenes, rendered into `assets/examples/` (the
files are committed; `example_images` writes any that are missing). The chat opens with what
people type first, in words the model was trained on (a request naming some attributes, a
greeting); the questions and instructions use the canonical forms of `docs/shapesworld.md`,
which the model follows best (its rows in the model card).
"""

from __future__ import annotations

from pathlib import Path

from ..shapesworld import Obj, Scene, canonical_caption, render

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
