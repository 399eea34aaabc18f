"""Draw examples the model draws right: `python -m transfusion.folder.examples --model DIR --data FOLDER`.

At the end of training a folder model's world card (`world.json`, `app.write_world_card`) gets
its draw examples at random from the training entries, so some may be pictures the model draws
wrong: the app would offer a visitor a request that fails on the first click. This command picks
them again from candidates of the same kind (a training entry's caption or one of its prompts,
in a seeded order), keeping a prompt only when the model's drawing retrieves its own catalogue
entry (the evaluator's rule, `retrieval.py`) at each of `SEEDS`: the app samples with a fresh
seed every run. It rewrites the card's "draw" list and its "about" (read again from the folder's
`about.md`, which may be newer than the training run) and says how many candidates it drew.
The model card, not the examples, reports what the model gets right.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from ..app.world import WORLD_CARD
from .app import ABOUT, SHOWN
from .format import Folder, read_folder
from .retrieval import Catalogue

SEEDS = (0, 1, 2)  # a kept example is drawn right at every one of these sampling seeds
TRIES = 80  # candidates drawn at most


def checked_draw_examples(model, folder: Folder, n: int = SHOWN["draw"], tries: int = TRIES,
                          seed: int = 0) -> tuple[list[str], int]:
    """(up to `n` prompts of training entries that `model` draws right at every seed of SEEDS,
    the number of candidates tried)."""
    rng = random.Random(f"draw examples:{seed}")
    catalogue = Catalogue(folder.entries)
    train = folder.training()
    kept: list[str] = []
    tried = 0
    for entry in rng.sample(train.entries, min(tries, len(train.entries))):
        if len(kept) == n:
            break
        prompt = rng.choice((entry.caption, *entry.prompts))
        tried += 1
        expected = catalogue.index[entry.image]
        if all(catalogue.retrieves(model.text_to_image([prompt], seed=s)[0], expected) for s in SEEDS):
            kept.append(prompt)
    return kept, tried


def rewrite_card(model_dir: Path, folder: Folder, draw: list[str]) -> dict:
    """The model's world card with these draw examples and the folder's current About."""
    path = model_dir / WORLD_CARD
    card = json.loads(path.read_text(encoding="utf-8"))
    about = folder.root / ABOUT
    card["draw"] = draw
    if about.exists():
        card["about"] = about.read_text(encoding="utf-8")
    path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return card


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m transfusion.folder.examples", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, required=True, help="a folder model's checkpoint directory (with world.json)")
    p.add_argument("--data", type=Path, required=True, help="the folder it was trained on")
    p.add_argument("--tries", type=int, default=TRIES, help="candidates drawn at most (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="the candidates' order (default %(default)s)")
    args = p.parse_args(argv)
    if not (args.model / WORLD_CARD).exists():
        sys.exit(f"error: {args.model} has no {WORLD_CARD}: not a trained folder model")
    from ..pipeline import TransfusionPipeline

    folder = read_folder(args.data)
    pipe = TransfusionPipeline.from_pretrained(args.model)
    draw, tried = checked_draw_examples(pipe, folder, tries=args.tries, seed=args.seed)
    if not draw:
        sys.exit(f"error: none of {tried} candidates was drawn right at seeds {SEEDS}: the card is left as it was")
    rewrite_card(args.model, folder, draw)
    print(f"kept {len(draw)} of {tried} candidates drawn at seeds {SEEDS} (right at every one):")
    for prompt in draw:
        print(f"  {prompt}")


if __name__ == "__main__":
    main()
