"""The real server: `python app.py --checkpoint <tiny scripted model>` in a subprocess on a
free port, driven through its API by gradio_client, as a remote user or script would. The model
runs through tests/stub_app.py, so that a test can hold it mid-picture and see a preview streamed
whatever the hardware's speed."""

import pytest
from PIL import Image

pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from app_helpers import SCRIPTED_REPLY, AppServer, resend, scripted_checkpoint, setting_values, wait_until  # noqa: E402
from transfusion.app.chat import DRAWING  # noqa: E402
from transfusion.app.editor import same_pixels  # noqa: E402
from transfusion.shapesworld.app import example_images  # noqa: E402
from transfusion.app.handlers import CHAT_SETTINGS, EDIT_SETTINGS  # noqa: E402

CHAT = dict(steps=5, guidance=3.0, image_guidance=1.5, sampler="default", temperature=0.0, top_p=1.0, max_new_tokens=32)
EDIT = dict(steps=2, guidance=3.0, image_guidance=1.5, sampler="default")
CHAT_VALUES, EDIT_VALUES = setting_values(CHAT_SETTINGS, CHAT), setting_values(EDIT_SETTINGS, EDIT)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ckpt = scripted_checkpoint(tmp_path_factory.mktemp("tiny"))
    # every update sent (streaming is tested); the model stubbed (tests/stub_app.py)
    with AppServer(["--checkpoint", ckpt, "--stream-interval", "0"], stub=True) as s:
        yield s


@pytest.fixture
def client(server):
    return Client(server.url, verbose=False)  # one client: one session (the editor's history lives there)


def kinds(message: dict) -> list[str]:
    return [p.get("component") or p["type"] for p in message["content"]]


def submit_chat(client, text, history=(), files=(), seed=0):
    return client.submit({"text": text, "files": [handle_file(f) for f in files]}, resend(list(history)), seed, False,
                         *CHAT_VALUES, api_name="/chat")


def chat(client, text, history=(), files=(), seed=0):
    job = submit_chat(client, text, history, files, seed)
    box, history, used = job.result()
    return history, used, job.outputs()


def preview_labels(outputs) -> list:
    return [p.get("constructor_args", {}).get("label") for o in outputs if o[1][-1]["role"] == "assistant"
            for p in o[1][-1]["content"]]


def test_chat_turn_streams_a_reply_that_holds_an_image(server, client):
    with server.gate.closed():  # the model stalls after its first step, until a preview has been streamed
        job = submit_chat(client, "draw a large red circle in the center on a white background", seed=11)
        wait_until(lambda: any(isinstance(label, str) and label.startswith("drawing: step")
                               for label in preview_labels(job.outputs())), "a preview of the picture is streamed")
    box, history, seed = job.result(timeout=60)
    outputs = job.outputs()
    assert seed == 11 and [m["role"] for m in history] == ["user", "assistant"]
    reply = history[-1]
    assert kinds(reply) == ["image", "text"] and reply["content"][1]["text"] == SCRIPTED_REPLY
    assert Image.open(reply["content"][0]["value"]).size == (64, 64)
    streamed = [o[1][-1] for o in outputs if o[1][-1]["role"] == "assistant"]
    # BOI seen, no preview yet (the stub sleeps in every step, so the reader takes BOI on its own)
    assert any(p.get("text") == DRAWING for m in streamed for p in m["content"])
    # the words: every token and step are streamed in process (test_app_package); a server coalesces
    # what it cannot send in time, so here only the final text is certain
    assert streamed[-1]["content"][-1]["text"] == SCRIPTED_REPLY


def test_follow_up_edits_the_last_image_of_the_conversation(client):
    history, _, _ = chat(client, "draw a large red circle in the center on a white background")
    history, _, _ = chat(client, "make the red circle blue", history)
    assert [m["role"] for m in history] == ["user", "assistant"] * 2 and kinds(history[-1]) == ["image", "text"]


def test_uploaded_image_with_a_question(client):
    picture = example_images()["three_shapes"]
    history, _, _ = chat(client, "how many shapes are there?", files=[picture])
    question = history[0]
    assert kinds(question) == ["file", "text"] and question["content"][1]["text"] == "how many shapes are there?"
    assert same_pixels(Image.open(question["content"][0]["file"]), Image.open(picture))
    assert history[-1]["role"] == "assistant" and SCRIPTED_REPLY in [p.get("text") for p in history[-1]["content"]]


def test_retry_undo_and_clear(client):
    history, _, _ = chat(client, "draw a large red circle in the center on a white background")
    history, _, _ = chat(client, "make the red circle blue", history, seed=1)
    retried, seed = client.predict(resend(history), 2, False, *CHAT_VALUES, api_name="/retry")
    assert seed == 2 and len(retried) == 4 and kinds(retried[-1]) == ["image", "text"]
    undone, box = client.predict(resend(retried), api_name="/undo")
    assert len(undone) == 2 and box["value"]["text"] == "make the red circle blue"  # back in the textbox
    cleared, _ = client.predict(api_name="/clear")
    assert cleared == []


def test_editor_edit_keep_editing_twice_and_go_back(client):
    picture = example_images()["red_circle"]
    result1, strip, seed = client.predict(handle_file(str(picture)), "make the red circle blue", 5, False,
                                          *EDIT_VALUES, api_name="/edit")
    assert seed == 5 and [g["caption"] for g in strip] == ["0: original", "1: make the red circle blue (seed 5)"]
    source = client.predict(handle_file(result1), api_name="/keep_editing")
    assert same_pixels(Image.open(source), Image.open(result1))
    result2, strip, _ = client.predict(handle_file(source), "make the blue circle bigger", 6, False,
                                       *EDIT_VALUES, api_name="/edit")
    source = client.predict(handle_file(result2), api_name="/keep_editing")
    result3, strip, used = client.predict(handle_file(source), "move the blue circle at the top", 0, True,
                                          *EDIT_VALUES, api_name="/edit")
    assert [g["caption"].split(" (seed")[0] for g in strip] == [
        "0: original", "1: make the red circle blue", "2: make the blue circle bigger", "3: move the blue circle at the top"]
    assert f"(seed {used})" in strip[-1]["caption"]  # randomized: the seed actually used is shown
    back = client.predict(handle_file(result3), api_name="/back")
    assert same_pixels(Image.open(back), Image.open(result2))
    back = client.predict(handle_file(back), api_name="/back")
    assert same_pixels(Image.open(back), Image.open(result1))


def test_errors_reach_the_user_with_what_to_do(client):
    with pytest.raises(Exception, match="Write an instruction"):
        client.predict(handle_file(str(example_images()["red_circle"])), "", 0, False, *EDIT_VALUES, api_name="/edit")
    with pytest.raises(Exception, match="nothing to retry"):
        client.predict([], 0, False, *CHAT_VALUES, api_name="/retry")


def test_the_api_names_every_setting_and_takes_them_by_name(client):
    api = client.view_api(return_format="dict", print_info=False)
    for endpoint, names in (("/chat", CHAT_SETTINGS), ("/retry", CHAT_SETTINGS), ("/edit", EDIT_SETTINGS)):
        params = [p["parameter_name"] for p in api["named_endpoints"][endpoint]["parameters"]]
        assert params[-len(names):] == list(names), endpoint
    result, strip, used = client.predict(image=handle_file(str(example_images()["red_circle"])),
                                         instruction="make the red circle blue", seed=3, randomize=False,
                                         **EDIT, api_name="/edit")
    assert used == 3 and Image.open(result).size == (64, 64)
