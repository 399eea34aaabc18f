"""Why a yes/no or count answer is wrong: `python -m transfusion.evaluation.evidence --model DIR`.

Such an answer says what the picture shows, then its verdict (`more_questions.with_evidence`).
For each of the evaluator's cases of those forms (people's words, seen phrasings) this checks
the two apart: is the evidence exactly the expected one, and is the verdict right when it is?
Evidence right and verdict wrong means the model sees the picture but does not yet compare
what it wrote with what was asked. The last column asks the same question of the scene said in
words, with no picture (`more_questions.in_words`, the `reason` task): the comparison alone.
A last line asks near misses, 'is there a {colour} {shape}?' about an absent pair whose colour
or shape is there (`is_near_miss`): the evaluator's absent pairs mostly share neither, so a
model that compares colours alone passes its rows and fails these.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter

from ..shapesworld.more_questions import EVIDENCE_FORMS, evidence_of, in_words, is_near_miss, new_questions_for, verdict_of
from ..shapesworld.render import render
from ..shapesworld.world import random_scene
from .natural import question_cases
from .score import normalise


def evidence_and_verdicts(model, cases: int = 100, seed: int = 0) -> tuple[Counter, Counter]:
    """(form, evidence right, verdict right) -> count, over the evaluator's cases of
    EVIDENCE_FORMS; and form -> how many verdicts are right when the scene is said in words."""
    out, from_words = Counter(), Counter()
    for case in question_cases(cases, seed):
        if case.row not in EVIDENCE_FORMS:
            continue
        got = normalise(model.answer(render(case.scene), case.question))
        evidence = evidence_of(got) == evidence_of(case.answer)
        out[(case.form, evidence, verdict_of(got) == verdict_of(case.answer))] += 1
        said = model.chat([{"role": "user", "content": in_words(case.scene, case.question)}], seed=seed)
        words = normalise(" ".join(p for p in said if isinstance(p, str)))
        from_words[case.form] += verdict_of(words) == verdict_of(case.answer)
    return out, from_words


def near_miss_verdicts(model, cases: int = 100, seed: int = 0) -> tuple[int, int, int]:
    """(cases, verdicts right shown the picture, verdicts right told the scene in words) over
    near-miss 'is there a {colour} {shape}?' questions, one a scene (the answer is always no)."""
    rng = random.Random(f"near misses:{seed}")
    n = seen = told = 0
    while n < cases:
        scene = random_scene(rng)
        misses = [q for q in new_questions_for(scene)
                  if q.form == "is_there_object" and verdict_of(q.answer) == "no" and is_near_miss(scene, q)]
        if not misses:
            continue
        q = rng.choice(misses)
        n += 1
        seen += verdict_of(normalise(model.answer(render(scene), q.question))) == "no"
        said = model.chat([{"role": "user", "content": in_words(scene, q.question)}], seed=seed)
        told += verdict_of(normalise(" ".join(p for p in said if isinstance(p, str)))) == "no"
    return n, seen, told


def main(argv=None) -> None:
    from .cli import load_model

    p = argparse.ArgumentParser(prog="python -m transfusion.evaluation.evidence", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="a checkpoint directory")
    p.add_argument("--cases", type=int, default=100, help="cases per form (the evaluator's; default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the cases (the evaluator's)")
    args = p.parse_args(argv)
    model = load_model(args.model, args.seed)
    counts, from_words = evidence_and_verdicts(model, args.cases, args.seed)
    print("| form | cases | evidence right | verdict right | verdict right when the evidence is | verdict from words |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for form in EVIDENCE_FORMS:
        n = sum(v for k, v in counts.items() if k[0] == form)
        ev = sum(v for k, v in counts.items() if k[0] == form and k[1])
        ve = sum(v for k, v in counts.items() if k[0] == form and k[2])
        both = counts[(form, True, True)]
        print(f"| {form} | {n} | {ev} | {ve} | {both} of {ev} | {from_words[form]} |")
    n, seen, told = near_miss_verdicts(model, args.cases, args.seed)
    print(f"\nnear misses (is_there_object, an absent pair whose colour or shape is there): {seen} of {n} "
          f"verdicts right from the picture, {told} of {n} from words")


if __name__ == "__main__":
    main()
