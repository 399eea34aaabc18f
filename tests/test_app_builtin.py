"""A smoke test of the app on the built-in model in assets/model, started the way a user
starts it (no --checkpoint); skipped until the training issue has put the model there."""

import pytest

pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402
from PIL import Image  # noqa: E402

from app_helpers import AppServer, setting_values  # noqa: E402
from transfusion.shapesworld.app import example_images  # noqa: E402
from transfusion.app.handlers import CHAT_SETTINGS, EDIT_SETTINGS  # noqa: E402
from transfusion.evaluation.score import normalise  # noqa: E402
from transfusion.pipeline import BUILT_IN  # noqa: E402
from transfusion.shapesworld.more_questions import verdict_of  # noqa: E402

pytestmark = pytest.mark.skipif(not (BUILT_IN / "config.json").exists(),
                                reason="the built-in model is not in assets/model yet")
SETTINGS = dict(steps=10, guidance=3.0, image_guidance=1.5, sampler="default", temperature=0.0, top_p=1.0,
                max_new_tokens=64)


def test_built_in_model_draws_in_the_chat_and_edits():
    with AppServer([]) as server:
        client = Client(server.url, verbose=False)
        _, history, _ = client.predict({"text": "draw a large red circle in the center on a white background", "files": []},
                                       [], 0, False, *setting_values(CHAT_SETTINGS, SETTINGS), api_name="/chat")
        reply = history[-1]
        assert reply["role"] == "assistant" and "image" in [p.get("component") for p in reply["content"]], reply
        result, strip, _ = client.predict(handle_file(str(example_images()["red_circle"])), "make the red circle blue",
                                          0, False, *setting_values(EDIT_SETTINGS, SETTINGS), api_name="/edit")
        assert Image.open(result).size == (64, 64) and len(strip) == 2


def _reply(history) -> tuple[str, list]:
    """(the words of the last reply, its pictures' paths)."""
    parts = history[-1]["content"]
    words = " ".join(p["text"] for p in parts if p.get("type") == "text")
    pictures = [p["value"]["path"] if isinstance(p["value"], dict) else p["value"]
                for p in parts if p.get("component") == "image"]
    return words, pictures


def test_what_people_type_first():
    """The first things a new user types (issue 16's table), through the server, greedy words."""
    from transfusion.shapesworld import analyse

    with AppServer([]) as server:
        client = Client(server.url, verbose=False)

        def say(text, history=(), files=()):
            _, history, _ = client.predict({"text": text, "files": [handle_file(str(f)) for f in files]},
                                           list(history), 0, False, *setting_values(CHAT_SETTINGS, SETTINGS),
                                           api_name="/chat")
            return history

        words, pictures = _reply(say("draw a red circle"))
        assert len(pictures) == 1 and words.startswith("here is a "), words
        scene = analyse(Image.open(pictures[0]))
        assert [(o.colour, o.shape) for o in scene.objects] == [("red", "circle")], (words, scene)
        words, pictures = _reply(say("draw a big red circle and a small blue square"))
        scene = analyse(Image.open(pictures[0]))
        assert sorted((o.size, o.colour, o.shape) for o in scene.objects) == [
            ("large", "red", "circle"), ("small", "blue", "square")], (words, scene)
        for text in ("hello, who are you?", "draw a cat"):
            words, pictures = _reply(say(text))
            assert not pictures and "draw" in words and "circle" in words, (text, words)
        # the table's complaint was a reply that looped to the token limit: now an answer that
        # ends with a verdict. Whether it is right is the evaluator's yes/no row
        words, pictures = _reply(say("is there a circle?", files=[example_images()["red_circle"]]))
        assert not pictures and verdict_of(normalise(words)) in ("yes", "no"), words
