"""Where training examples come from: a world. ShapesWorld, or a folder of your own pictures.

A world is what training asks of the data (the evaluator and the app ask the rest):
    document(i) -> a chat           the training stream, a pure function of the index, so a run
                                    resumes at an exact data position and each of several
                                    processes can take its own share of the indices
    image(i) -> PIL image           the autoencoder's stream
    text_corpus(n) -> list[str]     what a new tokenizer is trained on
    sample_prompts() -> list[str]   the training grid's prompts
    default_eval_cases              cases a group of the evaluation at the end of a run (0: none)
    evaluate(model, cases, seed, name) -> (results, Markdown table)   (`name`: the model's, for the table)
    write_world_card(model_dir)     world.json beside the saved weights: which world the app shows
                                    (`transfusion.app.world`)
`shapesworld.source.ShapesWorldSource` is one; `folder.source.FolderSource` (the folder format of
`folder/format.py`: captions, and optionally edits, questions and held-out pictures) another.
"""

from __future__ import annotations

from ..folder.source import FolderSource
from ..shapesworld.source import ShapesWorldSource

__all__ = ["FolderSource", "ShapesWorldSource", "make_source"]


def make_source(data: str, seed: int, mixture: dict[str, float] | None = None, balance_by: str | None = None):
    """'shapesworld' or a folder path, with `mixture`'s task weights if given, and for a folder
    `balance_by` (`FolderSource`): the one place that maps the `--data` of the training
    commands to a world."""
    if data == "shapesworld":
        if balance_by is not None:
            raise ValueError("ShapesWorld has no captions attributes to balance by (it draws each scene afresh)")
        return ShapesWorldSource(seed, mixture)
    return FolderSource(data, seed, mixture, balance_by)
