"""The evaluator: the oracle scores 100 %, guessing scores near 0 %, bad outputs count as wrong."""

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from transfusion.evaluation import OracleModel, RandomModel, build_cases, evaluate, format_table
from transfusion.evaluation.natural import PHRASINGS, REQUEST_ROWS
from transfusion.shapesworld.more_questions import NEW_QUESTION_FORMS
from transfusion.evaluation.cases import TEXT_TO_IMAGE_GROUPS
from transfusion.evaluation.score import ATTRIBUTES, Tally, normalise, score_attributes
from transfusion.shapesworld.edits import EDIT_KINDS
from transfusion.shapesworld.questions import QUESTION_FORMS
from transfusion.shapesworld.analyse import analyse
from transfusion.shapesworld.world import Obj, Scene

REPO = Path(__file__).resolve().parents[1]


def accuracies(results: dict) -> dict[str, float]:
    """Every exact-answer accuracy in the results, by a readable name (attributes apart)."""
    out = {f"t2i {g}": results["text_to_image"][g]["accuracy"] for g in TEXT_TO_IMAGE_GROUPS}
    out["caption"] = results["caption"]["exact"]["accuracy"]
    out |= {f"question {k}": v["accuracy"] for k, v in results["question"].items()}
    out |= {f"edit {k}": v["accuracy"] for k, v in results["edit"].items()}
    out["chat"] = results["chat"]["draw then edit"]["accuracy"]
    for part, tallies in results.get("natural", {}).items():  # people's words
        out |= {f"natural {part} {k}": v["accuracy"] for k, v in tallies.items()}
    return out


@pytest.fixture(scope="module")
def oracle_results():
    return evaluate(OracleModel(), cases=4, seed=0)


def test_oracle_scores_100_percent(oracle_results):
    assert all(v == 1.0 for v in accuracies(oracle_results).values()), accuracies(oracle_results)
    assert all(oracle_results["attributes"][a]["accuracy"] == 1.0 for a in ATTRIBUTES)
    assert oracle_results["speed"]["images"] == 4 * len(TEXT_TO_IMAGE_GROUPS)
    assert oracle_results["pixel error"] == {"mean squared": 0.0, "images": 4 * len(TEXT_TO_IMAGE_GROUPS)}  # the renders themselves


def test_random_scores_near_zero():
    results = evaluate(RandomModel(0), cases=10, seed=1)
    scores = accuracies(results)
    assert all(v <= 0.2 for v in scores.values()), scores
    assert np.mean(list(scores.values())) < 0.05
    assert results["attributes"]["colour"]["accuracy"] < 0.3
    assert results["pixel error"]["mean squared"] > 0.01  # random scenes are far from the asked ones


class Broken:
    """A model whose images are unreadable and whose texts are empty."""

    def text_to_image(self, prompts, seed=0):
        return [Image.new("RGB", (64, 64), (200, 30, 30)) for _ in prompts[:-1]]  # one too few

    def caption(self, image):
        return None

    def answer(self, image, question):
        return ""

    def edit(self, image, instruction, seed=0):
        noise = np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)
        return Image.fromarray(noise)

    def chat(self, messages, seed=0):
        return ["I cannot draw"]


def test_bad_outputs_count_as_wrong_and_never_crash():
    results = evaluate(Broken(), cases=2, seed=0)
    assert all(v == 0.0 for v in accuracies(results).values())
    assert all(results["attributes"][a]["accuracy"] == 0.0 for a in ATTRIBUTES)
    # unreadable red squares are scored by how far they are from the asked scenes; the missing image at 1.0
    assert 1.0 / (2 * len(TEXT_TO_IMAGE_GROUPS)) < results["pixel error"]["mean squared"] < 1.0


def test_text_is_compared_after_normalising():
    assert normalise("  The Red  circle. ") == "the red circle"
    assert normalise(None) == ""

    class Shouting(OracleModel):
        def caption(self, image):
            return super().caption(image).capitalize() + "."

    assert evaluate(Shouting(), cases=2)["caption"]["exact"]["accuracy"] == 1.0


def test_attributes_are_matched_by_cell():
    want = Scene("white", (Obj("circle", "red", "large", 0, 0), Obj("square", "blue", "small", 1, 1)))
    got = Scene("white", (Obj("circle", "green", "large", 0, 0), Obj("square", "blue", "small", 2, 2)))
    tallies = {a: Tally() for a in ATTRIBUTES}
    score_attributes(got, want, tallies)
    assert {a: (t.correct, t.total) for a, t in tallies.items()} == {
        "background": (1, 1),
        "count": (1, 1),
        "position": (1, 2),  # the square is in the wrong cell
        "shape": (1, 2),
        "colour": (0, 2),  # the circle's colour is wrong, the square is not where it should be
        "size": (1, 2),
    }
    tallies = {a: Tally() for a in ATTRIBUTES}
    score_attributes(None, want, tallies)  # an unreadable image
    assert all(t.correct == 0 for t in tallies.values())


def test_case_sets_are_fixed_and_sound():
    small, large = build_cases(3, seed=5), build_cases(6, seed=5)
    assert small == build_cases(3, seed=5) and small != build_cases(3, seed=6)
    assert large.caption[:3] == small.caption  # a larger set extends a smaller one
    for case in large.text_to_image:
        assert case.scene.has_held_out == (case.group == "held-out pairs")
        if case.group != "held-out pairs":
            assert len(case.scene.objects) == int(case.group[0])
    assert {c.form for c in large.question} == set(QUESTION_FORMS)
    assert {c.kind for c in large.edit} == set(EDIT_KINDS)
    assert not any(c.expected.has_held_out for c in large.edit + large.chat)
    with pytest.raises(ValueError):
        build_cases(0)


def test_table_has_one_row_per_measure(oracle_results):
    table = format_table(oracle_results)
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    n_measures = len(TEXT_TO_IMAGE_GROUPS) + len(ATTRIBUTES) + 1 + 1 + 1 + len(QUESTION_FORMS) + 1 + len(EDIT_KINDS) + 1 + 1
    n_natural = len(REQUEST_ROWS) + 1 + len(NEW_QUESTION_FORMS) + 3 * len(PHRASINGS)
    assert len(rows) == 1 + n_measures + n_natural  # header + measures
    assert all(r.count("|") == 6 for r in rows)
    assert "| text → image | exact scene, held-out pairs | 100.0 % | 51–100 | 4 |" in table  # Wilson, 4 of 4
    assert "| chat | draw, then edit: exact final scene | 100.0 % | 51–100 | 4 |" in table
    assert "| text → image | mean squared pixel error against the asked scene's render | 0.0000 |  | 16 |" in table
    assert "| chitchat | text reply, no picture, ends: held-out phrasings | 100.0 % | 51–100 | 4 |" in table
    canonical = format_table({k: v for k, v in oracle_results.items() if k != "natural"})
    assert len([line for line in canonical.splitlines() if line.startswith("| ")]) == 2 + n_measures
    sampling = {"steps": 10, "guidance": 3.0, "image_guidance": 1.5, "sampler": "default"}
    assert "sampling:" not in table
    assert "\nsampling: steps 10, guidance 3.0, image guidance 1.5, sampler default\n" in \
        format_table({**oracle_results, "sampling": sampling})


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "transfusion.evaluation", *args],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )


def test_cli_oracle_writes_table_and_json(tmp_path):
    out = tmp_path / "scores.json"
    proc = run_cli("--model", "oracle", "--cases", "2", "--seed", "3", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    # every row 100 % but title, blank, header, rule, pixel error and speed
    assert proc.stdout.count("100.0 %") == len(proc.stdout.splitlines()) - 6
    assert "requests | partial" in proc.stdout
    saved = json.loads(out.read_text())
    assert saved["model"] == "oracle" and saved["seed"] == 3
    assert saved["edit"]["all"]["accuracy"] == 1.0


def test_cli_help_documents_every_flag():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for flag in ("--model", "--cases", "--seed", "--json", "--batch-size"):
        assert flag in proc.stdout
    assert proc.stdout.count("\n  --") >= 5


def test_cli_rejects_a_missing_checkpoint(tmp_path):
    proc = run_cli("--model", str(tmp_path / "nothing-here"))
    assert proc.returncode != 0 and "neither 'oracle', 'random' nor an existing checkpoint" in proc.stderr


def test_cli_grades_a_real_checkpoint(tiny_checkpoint, tmp_path):
    """The whole path on a (tiny, untrained) checkpoint: it loads, generates and is graded."""
    tiny_checkpoint.save_pretrained(tmp_path / "model")
    proc = run_cli("--model", str(tmp_path / "model"), "--cases", "1", "--json", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    assert "seconds per image" in proc.stdout and (tmp_path / "r.json").exists()
    assert "\nsampling: steps 25, guidance 3.0, image guidance 1.5, sampler default, temperature 0.0, top p 1.0\n" in proc.stdout


def test_the_interval_is_wilsons():
    """95 % Wilson intervals, checked against values worked by hand."""
    assert Tally(20, 20).interval() == pytest.approx((0.8389, 1.0), abs=1e-4)
    assert Tally(0, 20).interval() == pytest.approx((0.0, 0.1611), abs=1e-4)
    assert Tally(90, 100).interval() == pytest.approx((0.8256, 0.9448), abs=1e-4)
    assert Tally(0, 0).interval() == (0.0, 1.0)


def test_cases_in_peoples_words_are_fixed_and_held_out_apart():
    from transfusion.evaluation.natural import build_natural_cases
    from transfusion.shapesworld.requests import held_out_phrasings_in

    a, b = build_natural_cases(6, seed=2), build_natural_cases(6, seed=2)
    assert a == b and a != build_natural_cases(6, seed=3)
    assert all(bool(held_out_phrasings_in(c.request.text)) == c.held_out for c in a.request)
    assert sum(c.held_out for c in a.request) == 6 and len(a.request) == 6 * (len(REQUEST_ROWS))
    assert all(c.request.satisfied_by(c.request.fill(random.Random(0))) for c in a.request)
    assert {c.row for c in a.question} == {*NEW_QUESTION_FORMS, *PHRASINGS}


def test_two_evaluations_compare_row_by_row_with_the_difference_interval():
    from transfusion.evaluation.compare import compare_table, difference, tallies

    def tally(correct, total):
        return {"correct": correct, "total": total}

    a = {"edit": {"all": tally(50, 100), "move": tally(40, 100)}, "seed": 0}
    b = {"edit": {"all": tally(80, 100), "move": tally(42, 100)}, "chat": {"x": tally(1, 2)}}
    assert [name for name, _ in tallies(a)] == ["edit / all", "edit / move"]
    d, low, high = difference(a["edit"]["all"], b["edit"]["all"])
    assert abs(d - 0.3) < 1e-9 and 0.17 < low < 0.18 and 0.42 < high < 0.43  # 0.3 ± 1.96 * 0.0640
    table = compare_table(a, b, ("s7", "s8"))
    assert "| edit / all | 50.0 % | 80.0 % | +30.0 (+17.5 to +42.5) * |" in table
    assert "| edit / move | 40.0 % | 42.0 % | +2.0 (-11.6 to +15.6) |" in table  # 2 ± 1.96 * 0.0695: no mark
    assert "chat" not in table  # a row only one side has is left out


def test_the_evidence_check_tells_evidence_from_verdict():
    from transfusion.evaluation.evidence import evidence_and_verdicts
    from transfusion.evaluation.natural import build_natural_cases
    from transfusion.shapesworld.more_questions import EVIDENCE_FORMS

    def prepared(model):  # people's words have no parser: the oracle looks them up
        model.prepare(None, build_natural_cases(3, 0))
        return model

    oracle, from_words = evidence_and_verdicts(prepared(OracleModel()), cases=3)
    assert {k for k in oracle} == {(f, True, True) for f in EVIDENCE_FORMS} and sum(oracle.values()) == 15
    assert from_words == {f: 3 for f in EVIDENCE_FORMS}  # the scene said in words: the same verdicts

    class Contrary(OracleModel):  # sees right, concludes wrong
        def answer(self, image, question):
            said = super().answer(image, question)
            evidence, verdict = said.rsplit(", so ", 1)
            return f"{evidence}, so {'no' if verdict == 'yes' else 'yes'}" if verdict in ("yes", "no") else said

    contrary, _ = evidence_and_verdicts(prepared(Contrary()), cases=3)
    assert all(v == 0 or not k[2] for k, v in contrary.items() if k[0] in ("is_there_shape", "is_background"))
    assert all(k[1] for k in contrary)


def test_near_misses_are_absent_pairs_sharing_a_colour_or_shape():
    from transfusion.evaluation.evidence import near_miss_verdicts

    class Recording(OracleModel):
        def __init__(self):
            super().__init__()
            self.asked = []

        def answer(self, image, question):
            scene = analyse(image)
            colour, shape = question.removesuffix("?").split()[-2:]
            self.asked.append((scene.find(colour, shape), any(o.colour == colour or o.shape == shape for o in scene.objects)))
            return super().answer(image, question)

    oracle = Recording()
    assert near_miss_verdicts(oracle, cases=20) == (20, 20, 20)
    assert len(oracle.asked) == 20 and all(not found and shared for found, shared in oracle.asked)

    class AlwaysYes(OracleModel):  # a model that compares nothing, and says so
        def answer(self, image, question):
            return "yes"

        def chat(self, messages, seed=0):
            return ["yes"]

    assert near_miss_verdicts(AlwaysYes(), cases=5) == (5, 0, 0)


def test_held_out_rows_split_by_the_phrase_said_and_its_unread_words():
    from transfusion.evaluation.held_out import PHRASES, by_phrase, format_report, new_words, training_words
    from transfusion.evaluation.natural import build_natural_cases

    tallies = by_phrase(OracleModel(), cases=6)  # the evaluator's held-out cases, each by its phrase
    natural = build_natural_cases(6, 0)
    held = {"requests": [c.request.text for c in natural.request if c.held_out],
            "questions": [c.question for c in natural.question if c.held_out],
            "edits": [c.instruction for c in natural.edit if c.held_out]}
    for group, texts in held.items():
        assert sum(t.total for t in tallies[group].values()) == len(texts) > 0
        assert set(tallies[group]) <= set(PHRASES[group])
        assert all(t.correct == t.total for t in tallies[group].values())  # the oracle
    known = training_words(texts=2000)
    assert new_words("in the upper middle", known) == []  # a held-out phrase of seen words
    assert new_words("zorble the circle", known) == ["zorble"]
    report = format_report(tallies, known)
    assert report.count("| edits |") == len(tallies["edits"]) and "edits: phrases of new words" in report


def test_the_first_minute_table_quotes_the_words_and_reads_back_each_picture():
    from transfusion.evaluation.first_minute import MESSAGES, first_minute, format_rows
    from transfusion.shapesworld.captions import canonical_caption
    from transfusion.shapesworld.render import render

    drawn = Scene("gray", (Obj("diamond", "red", "large", 2, 0),))
    asked = render(Scene("white", (Obj("circle", "red", "large", 1, 1),)))

    class Scripted:
        """Draws a diamond to every request, an unreadable blank to "hello", and says which picture it was shown."""

        def __init__(self):
            self.shown = []

        def chat(self, messages, seed=0):
            *pictures, text = messages[-1]["content"]
            self.shown += [canonical_caption(analyse(p)) for p in pictures]
            if text.startswith("draw"):
                return ["here is a diamond ", render(drawn)]
            if text.startswith("hello"):
                return ["", Image.new("RGB", (64, 64), (90, 0, 200))]
            return ["a circle is a circle, so yes"]

    model = Scripted()
    rows = first_minute(model, {"red_circle": asked})
    assert [typed.split(") ")[-1] for typed, _ in rows] == [text for text, _ in MESSAGES]
    assert model.shown == [canonical_caption(analyse(asked))] * sum(1 for _, a in MESSAGES if a)
    said = dict(rows)
    assert said["draw a red circle"] == f'"here is a diamond" and a picture of {canonical_caption(drawn)}'
    assert said["hello, who are you?"] == "a picture the analyser cannot read"  # the empty words are left out
    assert said["(red circle, attached) is there a circle?"] == '"a circle is a circle, so yes"'
    table = format_rows(rows).splitlines()
    assert table[0] == "| typed in the chat | what came back |" and len(table) == 2 + len(MESSAGES)
