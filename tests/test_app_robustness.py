"""The real server under bad input, many users and limits (`python app.py` in a subprocess,
driven as remote users would: gradio_client, and raw HTTP where the client itself refuses to
send something). Every bad request is followed by a normal one that must succeed."""

import json
import re
import subprocess
import sys
import textwrap
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.utils import Status  # noqa: E402

import bad_files  # noqa: E402
from app_helpers import (REPO, SCRIPTED_REPLY, AppServer, resend, scripted_checkpoint,  # noqa: E402
                         setting_values, wait_until)
from transfusion.shapesworld.app import example_images  # noqa: E402
from transfusion.app.handlers import CHAT_SETTINGS, EDIT_SETTINGS  # noqa: E402

CHAT = dict(steps=5, guidance=3.0, image_guidance=1.5, sampler="default", temperature=0.0, top_p=1.0, max_new_tokens=32)
EDIT = dict(steps=3, guidance=3.0, image_guidance=1.5, sampler="default")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return scripted_checkpoint(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def server(ckpt):
    with AppServer(["--checkpoint", ckpt]) as s:
        yield s


@pytest.fixture
def client(server):
    return Client(server.url, verbose=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return tmp_path_factory.mktemp("files")


def chat_inputs(text, history=(), files=(), seed=0, **settings) -> list:
    """What /chat takes: the message, the history, the seed, "randomize" and the settings in order."""
    return [{"text": text, "files": [handle_file(str(f)) for f in files]}, resend(list(history)), seed, False,
            *setting_values(CHAT_SETTINGS, {**CHAT, **settings})]


def chat(client, text, history=(), files=(), seed=0, **settings):
    box, history, used = client.predict(*chat_inputs(text, history, files, seed, **settings), api_name="/chat")
    return history


def edit(client, picture, instruction, seed=0, **settings):
    return client.predict(handle_file(str(picture)), instruction, seed, False,
                          *setting_values(EDIT_SETTINGS, {**EDIT, **settings}), api_name="/edit")


def texts(message) -> list[str]:
    return [p["text"] for p in message["content"] if p.get("type") == "text"]


def still_serving(client, steps=None):
    """A normal chat turn and a normal edit both succeed."""
    fast = {} if steps is None else {"steps": steps}
    history = chat(client, "draw a large red circle in the center on a white background", **fast)
    assert history[-1]["role"] == "assistant" and SCRIPTED_REPLY in texts(history[-1])
    result, strip, _ = edit(client, example_images()["red_circle"], "make the red circle blue", **fast)
    assert Image.open(result).size == (64, 64)


def raw_call(url: str, api: str, body: str) -> str:
    """POST a hand-written JSON body to /gradio_api/call/<api>; returns the event stream's text."""
    req = urllib.request.Request(f"{url}gradio_api/call/{api}", data=body.encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        event = json.loads(r.read())["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{api}/{event}", timeout=60) as r:
        return r.read().decode()


# bad pictures: in the chat and in the editor

BROKEN = [(bad_files.not_an_image, "is not a picture"), (bad_files.truncated, "damaged or truncated"),
          (bad_files.corrupt, "damaged or truncated"), (lambda d: bad_files.bomb(d, 20000), "too large to open"),
          (lambda d: bad_files.bomb(d, 5000), "5000 × 5000 pixels")]


@pytest.mark.parametrize("make, reason", BROKEN, ids=["not-an-image", "truncated", "corrupt", "bomb-20000", "bomb-5000"])
def test_broken_pictures_are_refused_in_the_chat_and_the_editor(client, files, make, reason):
    bad = make(files)
    with pytest.raises(Exception, match=reason):
        chat(client, "how many shapes are there?", files=[bad])
    with pytest.raises(Exception, match=reason):
        edit(client, bad, "make the red circle blue")
    still_serving(client)


@pytest.mark.parametrize("mode", bad_files.MODES)
def test_pictures_in_any_mode_are_answered_and_edited(client, files, mode):
    picture = bad_files.in_mode(files, mode)
    history = chat(client, "what color is the circle?", files=[picture])
    assert SCRIPTED_REPLY in texts(history[-1])
    result, strip, _ = edit(client, picture, "make the red circle blue")
    assert Image.open(result).size == (64, 64) and len(strip) == 2
    still_serving(client)


def test_paths_the_server_never_gave_out_are_refused(server, client):
    for path in ("/etc/hostname", str(REPO / "assets" / "examples" / "red_circle.png")):
        file = {"path": path, "meta": {"_type": "gradio.FileData"}}
        history = [{"role": "user", "content": [{"type": "file", "file": file}]},
                   {"role": "assistant", "content": [{"type": "text", "text": "a red circle"}]}]
        chat_values, edit_values = setting_values(CHAT_SETTINGS, CHAT), setting_values(EDIT_SETTINGS, EDIT)
        for api, data in (("chat", [{"text": "what is it?", "files": []}, history, 0, False, *chat_values]),
                          ("chat", [{"text": "what is it?", "files": [file]}, [], 0, False, *chat_values]),
                          ("edit", [file, "make it blue", 0, False, *edit_values])):
            out = raw_call(server.url, api, json.dumps({"data": data}))
            assert "event: error" in out and "was not uploaded by a user" in out, out
    for path in ("/etc/passwd", REPO / "app.py", REPO / "assets" / "model" / "config.json"):  # no allowed_paths
        with pytest.raises(urllib.error.HTTPError, match="403|404"):
            urllib.request.urlopen(f"{server.url}gradio_api/file={path}", timeout=10)
    still_serving(client)


# bad text

@pytest.mark.parametrize("text", ["", "   \n\t  ", "\x00\x01\x1b"])
def test_empty_messages_are_refused(client, text):
    with pytest.raises(Exception, match="Type a message"):
        chat(client, text)
    with pytest.raises(Exception, match="Write an instruction"):
        edit(client, example_images()["red_circle"], text)
    still_serving(client)


def test_messages_longer_than_the_context_are_refused_and_long_chats_cut(client):
    with pytest.raises(Exception, match="is 3,000 characters long; the limit is 2,000"):
        chat(client, "x" * 3000)
    with pytest.raises(Exception, match=r"Your message takes \d+ tokens .* Shorten it"):
        chat(client, "red " * 450)  # under the character limit, over the 512-token context
    with pytest.raises(Exception, match=r"takes \d+ tokens .* Shorten it"):
        edit(client, example_images()["red_circle"], "red " * 450)
    history = []
    for k in range(8):  # eight pictures: the model's context holds about six
        history = chat(client, f"draw a small blue square {k}", history)
    assert len(history) == 16 and SCRIPTED_REPLY in texts(history[-1])  # answered from the latest messages
    still_serving(client)


def test_control_characters_are_dropped_and_emoji_kept(client):
    history = chat(client, "draw\x00 a red\x1b[0m circle\u202e 🔴👍🏽")
    assert texts(history[0]) == ["draw a red[0m circle 🔴👍🏽"] and SCRIPTED_REPLY in texts(history[-1])
    result, strip, _ = edit(client, example_images()["red_circle"], "make it 🔵\x07 blue")
    assert strip[-1]["caption"].startswith("1: make it 🔵 blue")
    still_serving(client)


# out-of-range settings, through the API

@pytest.mark.parametrize("name, value, reason", [
    ("steps", 0, "Denoising steps: Value 0 is less than minimum value 1"),
    ("steps", -1, "Denoising steps: Value -1 is less than minimum value 1"),
    ("steps", 10**6, "Denoising steps: Value 1000000 is greater than maximum value 100"),
    ("steps", None, "Denoising steps: enter a number"),
    ("guidance", 1e300, "Text guidance: Value 1e[+]?300 is greater than maximum value 10"),
    ("guidance", "lots", "Text guidance: enter a number"),
    ("max_new_tokens", 10**9, r"Longest reply \(tokens\): Value 1000000000 is greater than maximum value 512"),
    ("temperature", -1, "Temperature: Value -1 is less than minimum value 0")])
def test_out_of_range_settings_are_refused(client, name, value, reason):
    with pytest.raises(Exception, match=reason):
        chat(client, "draw a red circle", **{name: value})
    if name in EDIT_SETTINGS:
        with pytest.raises(Exception, match=reason):
            edit(client, example_images()["red_circle"], "make it blue", **{name: value})
    still_serving(client)


def test_seeds_past_the_range_are_refused(client):
    for seed in (2**63 + 5, 2**64 + 1, -1):
        with pytest.raises(Exception, match="Seed: Value -?[0-9]+ is (greater than maximum|less than minimum) value"):
            chat(client, "draw a red circle", seed=seed)
    still_serving(client)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_guidance_is_refused(server, client, literal):
    # gradio_client refuses to send NaN or infinity as JSON: a hand-written body does
    data = [{"text": "draw a red circle", "files": []}, [], 0, False,
            *setting_values(CHAT_SETTINGS, {**CHAT, "guidance": "GUIDANCE"})]
    body = json.dumps({"data": data}).replace('"GUIDANCE"', literal)
    out = raw_call(server.url, "chat", body)
    assert "event: error" in out and ("guidance must be a number" in out or "value" in out), out
    still_serving(client)


# many users

def user_script(url: str, k: int) -> dict:
    """What user k does: even users chat two turns, odd users edit twice with "keep editing".
    Returns every picture and text they got back."""
    c = Client(url, verbose=False)
    colors = ["red", "blue", "green", "yellow", "orange", "purple", "pink", "cyan"]
    if k % 2 == 0:
        h = chat(c, f"draw a large {colors[k]} circle", seed=100 + k)
        h = chat(c, "make it smaller", h, seed=200 + k)
        return {"users": [texts(m) for m in h if m["role"] == "user"],
                "pictures": [np.asarray(Image.open(p["value"]["path"] if isinstance(p["value"], dict) else p["value"]))
                             for m in h if m["role"] == "assistant" for p in m["content"] if p.get("type") == "component"]}
    r1, strip, _ = edit(c, example_images()["red_circle"], f"make the red circle {colors[k]}", seed=300 + k)
    source = c.predict(handle_file(r1), api_name="/keep_editing")
    r2, strip, _ = edit(c, source, "make it smaller", seed=400 + k)
    return {"users": [g["caption"] for g in strip], "pictures": [np.asarray(Image.open(r)) for r in (r1, r2)]}


def test_eight_users_at_once_get_their_own_results(server):
    alone = [user_script(server.url, k) for k in range(8)]  # one after another: the reference
    together, errors = [None] * 8, []
    start = threading.Barrier(8)

    def run(k):
        try:
            start.wait()
            together[k] = user_script(server.url, k)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    for k in range(8):
        assert together[k]["users"] == alone[k]["users"]  # only their own messages and edits
        assert len(together[k]["pictures"]) == 2
        for a, b in zip(together[k]["pictures"], alone[k]["pictures"]):
            assert np.array_equal(a, b)  # the same pictures as when alone: no cross-talk


# a stubbed model speed (tests/stub_app.py): every denoising step takes app_helpers.STEP_DELAY
# seconds longer, and the model stalls while the server's gate is closed. These tests hold a request
# at the gate and assert on what happens (log lines, errors), never on how long it took, so they
# mean the same on any hardware (APP_TEST_STEP_DELAY 10x smaller or larger included).

@pytest.fixture(scope="module")
def stub_server(ckpt):
    with AppServer(["--checkpoint", ckpt, "--max-queue", "1", "--max-file-size", "1mb"], stub=True) as s:
        yield s


def test_a_client_that_goes_away_frees_the_model(stub_server):
    server, client = stub_server, Client(stub_server.url, verbose=False)
    script = textwrap.dedent(f"""
        import os, time
        from gradio_client import Client
        c = Client({server.url!r}, verbose=False)
        job = c.submit(*{chat_inputs("draw a red circle", steps=100)!r}, api_name="/chat")
        while not job.outputs() or len(job.outputs()) < 4:  # the reply has started
            time.sleep(0.05)
        print("started", flush=True)
        os._exit(0)  # gone, mid-generation
    """)
    start = len(server.log)
    with server.gate.closed():  # the request cannot end on its own: only the app can stop it
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert "started" in out.stdout, out.stderr
        server.wait_for("nobody is listening", start)
    steps = [int(i) for i in re.findall(r"stub: step (\d+)/100", server.log[start:])]
    assert steps and max(steps) < 100, steps  # stopped before its last denoising step
    still_serving(client)


def test_a_full_queue_says_the_app_is_busy(stub_server):
    server = stub_server
    clients = [Client(server.url, verbose=False) for _ in range(4)]
    inputs = chat_inputs("draw a red circle")
    start = len(server.log)
    with server.gate.closed():
        running = clients[0].submit(*inputs, api_name="/chat")
        server.wait_for("stub: step 1/", start)  # the model is busy, and stays so until the gate opens
        waiting = clients[1].submit(*inputs, api_name="/chat")
        wait_until(lambda: waiting.status().code == Status.IN_QUEUE, "the second request waits in the queue")
        for c in clients[2:]:  # the queue holds one (--max-queue 1): the others are told
            with pytest.raises(Exception, match="Queue is full"):
                c.submit(*inputs, api_name="/chat").result(timeout=60)
    for job in (running, waiting):  # both answered once the model moves on
        assert SCRIPTED_REPLY in texts(job.result(timeout=60)[1][-1])
    still_serving(clients[0], steps=1)


@pytest.fixture(scope="module")
def limit_server(ckpt):
    with AppServer(["--checkpoint", ckpt, "--time-limit", "2"], stub=True) as s:
        yield s


def test_a_request_past_the_time_limit_is_stopped(limit_server):
    c = Client(limit_server.url, verbose=False)
    start = len(limit_server.log)
    with limit_server.gate.closed(), pytest.raises(Exception, match="stopped after the time limit of 2 s"):
        chat(c, "draw a red circle")  # held at the gate: it would never finish
    assert "past the time limit of 2 s" in limit_server.log[start:]
    still_serving(c, steps=1)  # a normal request fits in the limit, with any APP_TEST_STEP_DELAY up to 0.3 s


def test_uploads_over_the_size_limit_are_refused(stub_server, files):
    c = Client(stub_server.url, verbose=False)
    big = files / "big.png"
    big.write_bytes(bad_files.png_bytes(bad_files.scene()) + b"\0" * 2_000_000)  # 2 MB: over this server's 1 MB
    with pytest.raises(Exception, match="(?i)file size|too large|exceeds"):
        chat(c, "how many shapes are there?", files=[big], steps=1)
    with pytest.raises(Exception, match="(?i)file size|too large|exceeds"):
        edit(c, big, "make the red circle blue", steps=1)
    still_serving(c, steps=1)
