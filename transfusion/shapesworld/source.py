"""ShapesWorld as a training world (the interface in `transfusion.training.sources`)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image

from ..app.world import WORLD_CARD
from . import DEFAULT_MIXTURE, check_mixture, random_scene, render, text_corpus
from . import document as shapes_document


class ShapesWorldSource:
    """The endless, seeded ShapesWorld stream (`transfusion.shapesworld`). `mixture` changes the
    weights of some tasks (e.g. {"edit": 0.4}); the others keep `DEFAULT_MIXTURE`'s."""

    def __init__(self, seed: int = 0, mixture: dict[str, float] | None = None):
        if mixture is not None:
            mixture = {**DEFAULT_MIXTURE, **mixture}  # the default order: the same draw for the same weights
            check_mixture(mixture)
        self.seed, self.mixture = seed, mixture

    def document(self, index: int) -> list[dict]:
        return shapes_document(index, seed=self.seed, mixture=self.mixture)

    SAMPLE_PROMPTS = (
        "a large red circle in the center on a white background",
        "a small blue square in the top left corner on a black background",
        "a large green triangle on the left and a small yellow diamond on the right on a gray background",
        "a large purple circle at the top, a small pink square in the center and a large cyan triangle at the bottom "
        "on a white background",
    )
    default_eval_cases = 10

    def image(self, index: int) -> Image.Image:
        return render(random_scene(random.Random(f"vae:{self.seed}:{index}")))

    def text_corpus(self, n: int) -> list[str]:
        return text_corpus(n, seed=self.seed)

    def sample_prompts(self) -> list[str]:
        return list(self.SAMPLE_PROMPTS)

    def write_world_card(self, model_dir: Path) -> None:
        (model_dir / WORLD_CARD).write_text(json.dumps({"world": "shapesworld"}) + "\n")

    def evaluate(self, model, cases: int, seed: int, name: str = "") -> tuple[dict, str]:
        from ..evaluation import evaluate, format_table

        results = evaluate(model, cases=cases, seed=seed)
        results["model"] = name
        if hasattr(model, "sampling"):
            results["sampling"] = model.sampling()
        return results, format_table(results)
