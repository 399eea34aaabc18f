"""The edit failure report sorts wrong edits by what went wrong, and counts what the evaluator counts."""

from dataclasses import replace

from PIL import Image

from transfusion.evaluation.cases import EditCase, build_cases, edit_cases
from transfusion.evaluation.edit_failures import classify, diagnose, format_report, main
from transfusion.evaluation.harness import _edit
from transfusion.evaluation.reference_models import OracleModel
from transfusion.evaluation.score import read
from transfusion.shapesworld.render import render
from transfusion.shapesworld.world import Obj, Scene

RED_CIRCLE = Obj("circle", "red", "large", 0, 0)
BLUE_SQUARE = Obj("square", "blue", "small", 1, 1)
SCENE = Scene("white", (RED_CIRCLE, BLUE_SQUARE))
RECOLOUR = EditCase(SCENE, "recolour", "make the red circle green",
                    Scene("white", (replace(RED_CIRCLE, colour="green"), BLUE_SQUARE)))


def _classify(got):
    return classify(RECOLOUR, got)


def test_each_kind_of_wrong_result_is_named():
    green = replace(RED_CIRCLE, colour="green")
    assert _classify(RECOLOUR.expected) == (set(), {})
    assert _classify(None) == ({"unreadable"}, {})
    assert _classify(SCENE) == ({"not done"}, {})
    # the colour spread to the square too
    failures, others = _classify(Scene("white", (green, replace(BLUE_SQUARE, colour="green"))))
    assert failures == {"others changed"} and others == {"colour": 1}
    # the circle redrawn as a diamond of the right colour, and the square lost
    failures, others = _classify(Scene("white", (replace(green, shape="diamond"),)))
    assert failures == {"target wrong", "others changed"} and others == {"lost": 1}
    failures, others = _classify(Scene("black", (green, BLUE_SQUARE)))
    assert failures == {"background"} and not others


class Sloppy(OracleModel):
    """The oracle's edit, but a recolour also paints the background wrong and a move is not done."""

    def edit(self, image, instruction, seed=0):
        scene = read(image)
        case = next(c for c in self.cases if c.scene == scene and c.instruction == instruction)
        if case.kind == "move":
            return image
        if case.kind == "recolour":
            wrong = "white" if case.expected.background == "black" else "black"
            return render(replace(case.expected, background=wrong))
        return render(case.expected)


def test_the_report_counts_what_the_evaluator_counts():
    model = Sloppy()
    model.cases = edit_cases(4, 0)
    report = diagnose(model, cases=4, seed=0)
    scored = _edit(model, build_cases(4, 0), 0)
    for kind, row in report["by kind"].items():
        assert row["cases"] == scored[kind]["total"] == 4
        assert row["exact"] == scored[kind]["correct"]
    assert report["by kind"]["move"]["not done"] == 4 and report["by kind"]["move"]["exact"] == 0
    assert report["by kind"]["recolour"]["background"] == 4 and report["by kind"]["recolour"]["target wrong"] == 0
    assert report["by kind"]["add"]["exact"] == 4
    by_count = report["by object count"]
    assert sum(r["cases"] for r in by_count.values()) == 24
    assert sum(r["exact"] for r in by_count.values()) == 16
    text = format_report(report)
    assert "| move | 4 | 0 | 0 | 4 |" in text and "| objects in the input | cases | exact |" in text


def test_the_oracle_makes_every_edit_exactly():
    report = diagnose(OracleModel(), cases=3, seed=2)
    assert all(row["exact"] == row["cases"] == 3 for row in report["by kind"].values())


def test_the_command_prints_the_table_and_writes_the_counts(tmp_path, capsys):
    out = tmp_path / "failures.json"
    main(["--model", "oracle", "--cases", "2", "--json", str(out)])
    printed = capsys.readouterr().out
    assert "edit failures: 2 cases per kind, seed 1" in printed and "| background | 2 | 2 |" in printed
    assert out.exists() and '"by object count"' in out.read_text()


def test_an_unreadable_result_is_counted_as_such():
    class Blank(OracleModel):
        def edit(self, image, instruction, seed=0):
            return Image.new("RGB", image.size, (255, 0, 255))

    report = diagnose(Blank(), cases=1, seed=0)
    assert all(row["unreadable"] == 1 and row["exact"] == 0 for row in report["by kind"].values())
