"""What the app shows of a folder world: examples from the folder, carried in the checkpoint.

At the end of training, `write_world_card` puts a `world.json` in the model folder with a few of
the folder's prompts, edits and questions, copies their pictures into `examples/`, and carries
the folder's own `about.md` (optional: what its pictures are, credits) and `name.txt` (optional:
the world's name in the app's picker) into the card, and its
`NOTICE` (optional: licences) beside the weights. The app
reads it back with `app_world`, so a checkpoint shows its world without the folder at hand.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from ..app.world import WORLD_CARD, AppWorld
from .format import Folder

ABOUT = "about.md"  # optional, in the data folder: the About tab's first part
NAME = "name.txt"  # optional, in the data folder: the world's name in the app (default: the folder's name)
NOTICE = "NOTICE"  # optional, in the data folder: credits and licences, copied beside the weights
EXAMPLES = "examples"  # in the model folder: the example pictures
SHOWN = {"draw": 6, "edit": 4, "ask": 3}  # examples of each kind the card keeps
# words of a request that name nothing: a request is outside the world when every other word of
# it is in no caption or prompt of the folder
REQUEST_WORDS = frozenset(
    "a an the some any one draw paint sketch show me give make create please can could would will you "
    "i i'd i'm like want love to for of picture image drawing photo emoji hey hi".split())


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9][a-z0-9'’-]*", text.lower())


def write_world_card(folder: Folder, model_dir: Path, seed: int = 0) -> dict:
    """Write `world.json` (and `examples/`) into `model_dir` from the training view of `folder`."""
    rng = random.Random(f"world card:{seed}")
    train = folder.training()
    draw = [rng.choice((e.caption, *e.prompts)) for e in rng.sample(train.entries, min(SHOWN["draw"], len(train.entries)))]
    examples = model_dir / EXAMPLES
    pictures: dict[Path, str] = {}

    def copied(path: Path) -> str:
        if path not in pictures:
            examples.mkdir(parents=True, exist_ok=True)
            name = f"{len(pictures)}{path.suffix}"
            shutil.copyfile(path, examples / name)
            pictures[path] = f"{EXAMPLES}/{name}"
        return pictures[path]

    edit = [[copied(e.source), e.instruction] for e in rng.sample(train.edits, min(SHOWN["edit"], len(train.edits)))]
    ask = [[copied(q.image), q.question] for q in rng.sample(train.questions, min(SHOWN["ask"], len(train.questions)))]
    about, name = folder.root / ABOUT, folder.root / NAME
    vocabulary = sorted({w for e in train.entries for t in (e.caption, *e.prompts) for w in words(t)} - REQUEST_WORDS)
    card = {"world": "folder", "name": name.read_text(encoding="utf-8").strip() if name.exists() else folder.root.resolve().name, "data": str(folder.root), "pictures": len(folder.entries),
            "edits": len(folder.edits), "questions": len(folder.questions), "held out": len(folder.held_out),
            "draw": draw, "edit": edit, "ask": ask, "about": about.read_text(encoding="utf-8") if about.exists() else "",
            "vocabulary": vocabulary}
    (model_dir / WORLD_CARD).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if (folder.root / NOTICE).exists():  # the pictures' licences travel with what was trained on them
        shutil.copyfile(folder.root / NOTICE, model_dir / NOTICE)
    return card


def _knows(card: dict) -> str:
    if card.get("about"):
        return card["about"].strip()
    draw = "”, “".join(card.get("draw", [])[:3])
    what = [f"{card.get('pictures', 0):,} pictures with their captions"]
    what += [f"{card[k]:,} {k}" for k in ("edits", "questions") if card.get(k)]
    return (f"## What the model knows: {card.get('name', 'a folder')}\n\n"
            f"It was trained on the folder **{card.get('name', '?')}**: {', '.join(what)}. "
            f"Ask for a picture by its caption{f' (“{draw}”)' if draw else ''}, ask what a picture is, "
            "or, where the folder had edits, ask for an edit in its words.")


def outside_reply(card: dict) -> Callable[[list[dict]], str | None]:
    """The app's answer to a first message that names nothing the folder's captions know ("draw
    a spaceship" to the emoji model, "hello"): what it can draw instead. Messages about a
    picture (one is attached or already in the chat) always go to the model."""
    vocabulary = frozenset(card.get("vocabulary", []))
    examples = card.get("draw", [])[:3]

    def reply(messages: list[dict]) -> str | None:
        if any(isinstance(p, Image.Image) for m in messages for p in (m["content"] if isinstance(m["content"], list) else [])):
            return None
        last = messages[-1]["content"]
        text = last if isinstance(last, str) else " ".join(p for p in last if isinstance(p, str))
        if any(w in vocabulary for w in words(text) if w not in REQUEST_WORDS):
            return None
        shown = "; ".join(f"“{e}”" for e in examples)
        return (f"I only know the {card.get('pictures', 0):,} pictures of “{card.get('name', 'my folder')}”, "
                f"and that is not among them. I can draw, for example: {shown}.")

    return reply


def app_world(card: dict, checkpoint_dir: Path) -> AppWorld:
    """The AppWorld of a folder checkpoint, from its world.json."""
    def picture(name: str) -> str:
        return str(checkpoint_dir / name)

    draw, edit, ask = card.get("draw", []), card.get("edit", []), card.get("ask", [])
    chat = [{"text": d, "files": []} for d in draw]
    chat += [{"text": q, "files": [picture(f)]} for f, q in ask] + [{"text": i, "files": [picture(f)]} for f, i in edit[:2]]
    name = card.get("name", "a folder")
    return AppWorld(
        name=name,
        intro=f"trained on the pictures of “{name}”",
        chat_hint="Ask it for a picture by name, or attach a picture and ask what it is or ask for an edit.",
        chat_placeholder=draw[0] if draw else "",
        edit_placeholder=edit[0][1] if edit else "",
        chat_examples=chat,
        edit_examples=[[picture(f), i] for f, i in edit],
        knows=_knows(card),
        grade="python -m transfusion.folder.evaluate --model {checkpoint} --data " + card.get("data", name),
        outside_reply=outside_reply(card) if card.get("vocabulary") else None,
    )
