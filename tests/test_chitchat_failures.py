"""The chitchat failure report replays the evaluator's chitchat rows and says what went wrong."""

import random

from transfusion.evaluation.chitchat_failures import diagnose, format_report, main
from transfusion.evaluation.natural import build_natural_cases, score_natural
from transfusion.shapesworld.chitchat import random_chitchat


class Stubborn:
    """Answers a question (a message ending '?') with 'two', 'cool' with a picture, and anything
    else with a good chitchat reply."""

    good = random_chitchat(random.Random(1)).reply

    def chat_ended(self, messages, seed=0):
        text = messages[-1]["content"]
        if text.endswith("?"):
            return ["two"], True
        if text == "cool":
            return [self.good, object()], True
        return [self.good], True

    def chat(self, messages, seed=0):
        return self.chat_ended(messages, seed)[0]

    def answer(self, image, question):  # the evaluator's other rows in people's words ask these too
        return "no"

    def edit(self, image, instruction, seed=0):
        return image


def test_the_report_counts_what_the_evaluator_counts_and_says_why():
    report = diagnose(Stubborn(), cases=20, seed=0)
    scored = score_natural(Stubborn(), build_natural_cases(20, 0), 0)["chitchat"]
    for phrasing, row in report.items():
        assert row["cases"] == scored[phrasing]["total"]
        assert row["cases"] - row["wrong"] == scored[phrasing]["correct"]
        assert row["wrong"] == sum(m["wrong"] for m in row["messages"].values())
        for message, m in row["messages"].items():
            assert m["faults"] == ({"no shape": m["wrong"]} if message.endswith("?") else {"picture": m["wrong"]})
    asked = [m for m in report["held-out"]["messages"] if m.endswith("?")]
    assert asked and all(report["held-out"]["messages"][m]["example"] == "two" for m in asked)
    assert report["seen"]["messages"]["cool"]["example"].endswith("<picture>")
    text = format_report(report)
    assert f"held-out: {report['held-out']['wrong']} of 20 replies wrong" in text and f"| {asked[0]} |" in text


def test_the_command_rejects_a_missing_model(capsys):
    try:
        main(["--model", "no/such/dir"])
    except SystemExit as e:
        assert "neither 'oracle'" in str(e.code)
    else:
        raise AssertionError("a missing model must stop the command")


def test_the_oracle_gets_every_chitchat_case_right():
    from transfusion.evaluation.reference_models import OracleModel

    report = diagnose(OracleModel(), cases=10, seed=3)
    assert [row["wrong"] for row in report.values()] == [0, 0] and report["held-out"]["cases"] == 10
