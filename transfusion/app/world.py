"""What the app shows of the world a checkpoint knows: its examples, placeholders and About text.

A checkpoint says its world in `world.json` beside its weights (`{"world": "shapesworld"}`, or
`{"world": "folder", ...}` with examples from the folder it was trained on), written at the end
of training (`training/sources.py`); a checkpoint without one is a ShapesWorld model (the
built-in one, and every checkpoint saved before worlds were named). Each world builds its own
`AppWorld`, in its own module; `WORLDS` is the one place that maps a name to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

WORLD_CARD = "world.json"


@dataclass(frozen=True)
class AppWorld:
    name: str  # "ShapesWorld", or the folder's name
    intro: str  # the line under the title: what the model was trained on
    chat_hint: str  # the empty chat's placeholder
    chat_placeholder: str  # the message box's
    edit_placeholder: str  # the editor's instruction box's
    chat_examples: list[dict]  # MultimodalTextbox values {"text": ..., "files": [...]}
    edit_examples: list[list[str]]  # [picture path, instruction]
    knows: str  # Markdown: what the model knows and how to ask for it (the About tab's first part)
    grade: str  # the command that grades a checkpoint of this world ({checkpoint}: its folder)
    # the app's reply to a chat that asks for something outside the world (None: the model answers);
    # a world whose model was trained to say so itself (ShapesWorld) has none
    outside_reply: Callable[[list[dict]], str | None] | None = None


def _shapesworld(card: dict, checkpoint_dir: Path, image_size: int) -> AppWorld:
    from ..shapesworld.app import app_world

    return app_world(image_size)


def _folder(card: dict, checkpoint_dir: Path, image_size: int) -> AppWorld:
    from ..folder.app import app_world

    return app_world(card, checkpoint_dir)


# world name (world.json's "world") -> its AppWorld, from (card, checkpoint folder, image size)
WORLDS: dict[str, Callable[[dict, Path, int], AppWorld]] = {"shapesworld": _shapesworld, "folder": _folder}


def read_world_card(checkpoint_dir: str | Path) -> dict:
    """The checkpoint's world.json ({"world": "shapesworld"} when it has none); ValueError for a bad one."""
    path = Path(checkpoint_dir) / WORLD_CARD
    if not path.exists():
        return {"world": "shapesworld"}
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not JSON ({e.msg})") from None
    if not isinstance(card, dict) or card.get("world") not in WORLDS:
        raise ValueError(f"{path}: 'world' must be one of {sorted(WORLDS)}")
    return card


def app_world(checkpoint_dir: str | Path, image_size: int) -> AppWorld:
    """The AppWorld of the checkpoint in `checkpoint_dir`."""
    card = read_world_card(checkpoint_dir)
    return WORLDS[card["world"]](card, Path(checkpoint_dir), image_size)
