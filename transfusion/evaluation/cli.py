"""Score a model on ShapesWorld and print one Markdown table.

    python -m transfusion.evaluation --model oracle            # must score 100 %
    python -m transfusion.evaluation --model random            # must score near 0 %
    python -m transfusion.evaluation --model runs/demo --cases 50 --json scores.json

(`transfusion-evaluate` is the same command, installed by `pip install -e .`.) The case sets,
the scoring and the table live in the rest of `transfusion.evaluation`; this is the CLI.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .harness import DEFAULT_CASES, evaluate
from .reference_models import OracleModel, RandomModel
from .table import format_table


SAMPLING_FLAGS = {"steps": int, "guidance": float, "image_guidance": float, "sampler": str,  # Settings fields
                  "temperature": float, "top_p": float}


class WithSettings:
    """A pipeline whose every call uses the given sampling settings (steps, guidance, sampler)."""

    def __init__(self, pipe, **settings):
        self.pipe, self.settings = pipe, settings

    def text_to_image(self, prompts, seed=0):
        return self.pipe.text_to_image(prompts, seed=seed, **self.settings)

    def caption(self, image):
        return self.pipe.caption(image, **self.settings)

    def answer(self, image, question):
        return self.pipe.answer(image, question, **self.settings)

    def edit(self, image, instruction, seed=0):
        return self.pipe.edit(image, instruction, seed=seed, **self.settings)

    def chat(self, messages, seed=0):
        return self.pipe.chat(messages, seed=seed, **self.settings)

    def chat_ended(self, messages, seed=0):
        """The chat reply, and whether the model ended it (EOS) before its token budget."""
        said = []
        parts = self.pipe.chat(messages, seed=seed, on_token=said.append, **self.settings)
        return parts, bool(said) and said[-1] == self.pipe.checkpoint.tokenizer.eos_id

    def sampling(self) -> dict:
        """The drawing settings every call uses: the checkpoint's defaults with the overrides."""
        s = self.pipe.settings(**self.settings)
        return {**{name: getattr(s, name) for name in SAMPLING_FLAGS}, "sampler": s.sampler or "default"}


MODEL_HELP = "'oracle' (the renderer itself), 'random' (guesses) or a checkpoint directory"


def add_run_args(parser: argparse.ArgumentParser) -> None:
    """The flags every evaluator takes beside its cases: seed, batch size, JSON output."""
    parser.add_argument("--seed", type=int, default=0, help="seed of the case sets and of sampling")
    parser.add_argument("--batch-size", type=int, default=16, help="prompts per text_to_image call")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """The flags that choose the weights and the sampling settings (default: the checkpoint's)."""
    parser.add_argument("--quantization", choices=["none", "int8"], default="none", help="weights of a checkpoint")
    for name, kind in SAMPLING_FLAGS.items():
        parser.add_argument("--" + name.replace("_", "-"), type=kind, default=None,
                            help=f"{name.replace('_', ' ')} (default: the checkpoint's)")


def model_from_args(args: argparse.Namespace):
    """The model that `--model` names, with the sampling flags given."""
    settings = {name: getattr(args, name) for name in SAMPLING_FLAGS if getattr(args, name) is not None}
    return load_model(args.model, args.seed, None if args.quantization == "none" else args.quantization, **settings)


def load_model(name: str, seed: int, quantization: str | None = None, **settings):
    """'oracle', 'random', or the path of a saved TransfusionPipeline."""
    if name == "oracle":
        return OracleModel()
    if name == "random":
        return RandomModel(seed)
    path = Path(name)
    if not path.exists():
        sys.exit(f"error: --model {name!r} is neither 'oracle', 'random' nor an existing checkpoint path")
    from transfusion import TransfusionPipeline

    return WithSettings(TransfusionPipeline.from_pretrained(path, quantization=quantization), **settings)


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    """The command line; `prog` names it in the usage line (default: the script's own name)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help=MODEL_HELP)
    parser.add_argument(
        "--cases", type=int, default=DEFAULT_CASES,
        help="cases per group (object count, question form, edit kind, phrasing; default %(default)s)"
    )
    parser.add_argument("--canonical-only", action="store_true", help="leave out the cases in people's words")
    add_run_args(parser)
    add_model_args(parser)
    args = parser.parse_args(argv)
    if args.cases < 1:
        parser.error("--cases must be at least 1")
    model = model_from_args(args)
    results = evaluate(model, cases=args.cases, seed=args.seed, batch_size=args.batch_size,
                       natural=not args.canonical_only)
    results["model"] = args.model
    if isinstance(model, WithSettings):
        results["sampling"] = model.sampling()
    print(format_table(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")

