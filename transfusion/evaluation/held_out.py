"""Held-out phrasings one by one: `python -m transfusion.evaluation.held_out --model DIR`.

The evaluator reports the held-out phrasings of each group (requests, questions, edits) as one
row. This splits those rows by the held-out phrase each case says ('huge', 'erase', 'upper
left', ...), on the evaluator's own cases, and marks each phrase's words that no task text
holds: the words of the first `TEXTS` texts of the default training stream (the texts a new
tokenizer is trained on), which has every task but the glossary. A phrase that only recombines
words seen elsewhere ('upper left' from 'upper' and 'left') tests generalisation; a word the
tasks never say ('enlarge') a model can know only from the glossary task (`shapesworld.glossary`),
whose entries the last column names: whether the model was trained on it is the run's mixture.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from ..shapesworld.documents import text_corpus
from ..shapesworld.edit_phrasings import HELD_OUT_EDIT_PHRASINGS
from ..shapesworld.glossary import GLOSSARY
from ..shapesworld.more_questions import HELD_OUT_QUESTION_PHRASINGS
from ..shapesworld.requests import HELD_OUT_PHRASINGS
from ..shapesworld.words import phrase_matcher
from .natural import build_natural_cases, edit_right, question_right, request_right
from .score import Tally

TEXTS = 20_000  # as many as a new tokenizer is trained on (train.TOKENIZER_TEXTS)
PHRASES = {  # group -> the held-out phrases its cases say
    "requests": tuple(p for phrases in HELD_OUT_PHRASINGS.values() for p in phrases),
    "questions": HELD_OUT_QUESTION_PHRASINGS,
    "edits": HELD_OUT_EDIT_PHRASINGS,
}


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def training_words(texts: int = TEXTS, seed: int = 0) -> frozenset[str]:
    """Every word of the first `texts` texts of the default training stream `seed`."""
    return frozenset(w for t in text_corpus(texts, seed) for w in words_of(t))


def new_words(phrase: str, known: frozenset[str]) -> list[str]:
    """The words of `phrase` that are not in `known`."""
    return [w for w in words_of(phrase) if w not in known]


def glossary_entries(phrase: str) -> list[str]:
    """The entries of the glossary task (`shapesworld.glossary`) that `phrase` holds as whole words."""
    return [w for w in GLOSSARY if phrase_matcher([w])(phrase)]


def by_phrase(model, cases: int, seed: int = 0) -> dict[str, dict[str, Tally]]:
    """group -> held-out phrase -> right or wrong, over the evaluator's held-out cases (the ones
    `python -m transfusion.evaluation` draws with the same `cases` and `seed`)."""
    natural = build_natural_cases(cases, seed)
    if hasattr(model, "prepare"):  # the oracle learns the texts it has no parser for
        model.prepare(None, natural)
    match = {group: phrase_matcher(phrases) for group, phrases in PHRASES.items()}
    out: dict[str, dict[str, Tally]] = {group: {} for group in PHRASES}

    def add(group: str, text: str, right: bool) -> None:
        phrase = match[group](text.lower())
        if phrase is None:
            raise AssertionError(f"a held-out {group} case says no held-out phrase: {text!r}")
        out[group].setdefault(phrase, Tally()).add(right)

    # the seeds are the evaluator's: a case's index in its group
    for i, case in enumerate(natural.request):
        if case.held_out:
            add("requests", case.request.text, request_right(model, case, seed + i)[0])
    for case in natural.question:
        if case.held_out:
            add("questions", case.question, question_right(model, case))
    for i, case in enumerate(natural.edit):
        if case.held_out:
            add("edits", case.instruction, edit_right(model, case, seed + i))
    return out


def format_report(tallies: dict[str, dict[str, Tally]], known: frozenset[str]) -> str:
    lines = ["| group | held-out phrase | cases | right | words no task text has | glossary entries |",
             "| --- | --- | ---: | ---: | --- | --- |"]
    for group, phrases in tallies.items():
        for phrase, t in sorted(phrases.items(), key=lambda kv: kv[1].accuracy):
            new, glossed = new_words(phrase, known), glossary_entries(phrase)
            lines.append(f"| {group} | {phrase} | {t.total} | {t.correct} ({t.accuracy:.0%}) | {', '.join(new) or '-'} "
                         f"| {', '.join(glossed) or '-'} |")
    for group, phrases in tallies.items():
        parts = {"new words": Tally(), "seen words": Tally()}
        for phrase, t in phrases.items():
            part = parts["new words" if new_words(phrase, known) else "seen words"]
            part.correct += t.correct
            part.total += t.total
        lines.append("")
        lines.append(f"{group}: " + "; ".join(f"phrases of {k}: {t.correct} of {t.total}" for k, t in parts.items()))
    return "\n".join(lines)


def main(argv=None) -> None:
    from .cli import MODEL_HELP, add_model_args, model_from_args

    p = argparse.ArgumentParser(prog="python -m transfusion.evaluation.held_out", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument("--cases", type=int, default=100, help="the evaluator's cases a group (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="the evaluator's seed (default %(default)s)")
    p.add_argument("--json", type=Path, default=None, help="also write the counts here")
    add_model_args(p)
    args = p.parse_args(argv)
    model = model_from_args(args)
    tallies = by_phrase(model, args.cases, args.seed)
    known = training_words()
    print(f"held-out phrasings, {args.cases} cases a group, seed {args.seed}\n")
    print(format_report(tallies, known))
    if args.json:
        args.json.write_text(json.dumps({g: {p: {**t.as_dict(), "new words": new_words(p, known)} for p, t in ph.items()}
                                         for g, ph in tallies.items()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
