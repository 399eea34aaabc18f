"""The app's package (`transfusion/app/`), in process and without a server: streaming from
callbacks, settings, the device policy, chat history <-> messages, the edit session, the
About text, the examples, and the handlers on a tiny scripted checkpoint."""

import functools
import json
import os
import random
import threading
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

gr = pytest.importorskip("gradio")

from app_helpers import SCRIPTED_REPLY, scripted_checkpoint  # noqa: E402
from transfusion.app import pictures, runtime  # noqa: E402
from transfusion.app.about import about_markdown, evaluation_section  # noqa: E402
from transfusion.app.world import app_world  # noqa: E402
from transfusion.app.chat import (DRAWING, Snapshot, preview_steps, reply_message, retry_history,  # noqa: E402
                                  stream_reply, to_messages, undo_history, user_message)
from transfusion.app.editor import EditSession, same_pixels  # noqa: E402
from transfusion.app.files import image_file  # noqa: E402
from transfusion.shapesworld.app import EDITS, SCENES, chat_examples, edit_examples, example_images  # noqa: E402
from transfusion.app.handlers import CHAT_SETTINGS, EDIT_SETTINGS, Demo  # noqa: E402
from transfusion.app.settings import CONTROLS, MAX_SEED, resolve_seed, samplers_for, to_settings  # noqa: E402
from transfusion.app.stream import Done, stream  # noqa: E402
from transfusion.diffusion import SAMPLERS  # noqa: E402
from transfusion.generation_config import Settings  # noqa: E402
from transfusion.pipeline import TransfusionPipeline  # noqa: E402
from transfusion.quantize import TorchInt8Linear  # noqa: E402
from transfusion.shapesworld.requests import held_out_phrasings_in  # noqa: E402
from transfusion.shapesworld import parse_caption, parse_edit, render  # noqa: E402

FAST = dict(steps=2, guidance=3.0, image_guidance=1.5, sampler="default", temperature=0.0, top_p=1.0, max_new_tokens=32)


def chat_values(**changes) -> dict:
    """FAST with `changes`: the keyword settings the chat's handlers take."""
    return {name: {**FAST, **changes}[name] for name in CHAT_SETTINGS}


def edit_values(**changes) -> dict:
    return {name: {**FAST, **changes}[name] for name in EDIT_SETTINGS}


@pytest.fixture(autouse=True)
def pictures_in_tmp_path(tmp_path, monkeypatch):
    """These tests hand the chat pictures from tmp_path, as Gradio would from its cache."""
    monkeypatch.setattr(pictures, "ROOTS", [*pictures.ROOTS, tmp_path])


@pytest.fixture(scope="module")
def ckpt_dir(tmp_path_factory):
    return scripted_checkpoint(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def pipe(ckpt_dir):
    return TransfusionPipeline.from_pretrained(ckpt_dir, device="cpu")


@pytest.fixture(scope="module")
def demo(pipe, ckpt_dir):
    return Demo(pipe, ckpt_dir)


class Recorder:
    """Stands in for gr.Progress: records every call."""

    def __init__(self):
        self.calls = []

    def __call__(self, value, desc=None, total=None, unit="steps"):
        self.calls.append(value)


def png(image: Image.Image, path) -> str:
    image.save(path)
    return str(path)


# stream

def test_stream_yields_every_emitted_value_in_order_then_the_result():
    def work(emit):
        for i in range(5):
            emit(i)
        return "result"

    assert list(stream(work)) == [0, 1, 2, 3, 4, Done("result")]


def test_stream_raises_the_workers_exception_in_the_caller():
    def work(emit):
        emit(1)
        raise ValueError("bad input")

    events = stream(work)
    assert next(events) == 1
    with pytest.raises(ValueError, match="bad input"):
        next(events)


def test_stream_stops_the_worker_when_the_caller_stops_listening():
    finished, seen = threading.Event(), []

    def work(emit):
        try:
            for i in range(1000):
                emit(i)
                seen.append(i)
                time.sleep(0.001)
        finally:
            finished.set()

    events = stream(work)
    next(events)
    events.close()  # joins the worker: it must have stopped at its next emit
    assert finished.is_set() and len(seen) < 1000


# settings

def test_settings_convert_browser_numbers_and_explain_bad_ones():
    assert to_settings(steps=25.0, guidance=3, sampler="default", max_new_tokens=64.0) == \
        dict(steps=25, guidance=3.0, max_new_tokens=64)
    with pytest.raises(ValueError, match="Denoising steps: must be a whole number"):
        to_settings(steps=2.5)
    with pytest.raises(ValueError, match="Text guidance: enter a number"):
        to_settings(guidance=None)
    with pytest.raises(ValueError, match="Invalid setting: steps must be an integer from 1 to 1000"):
        to_settings(steps=0)
    with pytest.raises(ValueError, match="unknown settings: colour"):
        to_settings(colour=1)


def test_every_slider_range_is_valid_for_the_pipeline():
    for name, c in CONTROLS.items():
        for value in (c.minimum, c.maximum, c.value):
            Settings(**to_settings(**{name: value}))


def test_seeds_are_checked_or_drawn():
    assert resolve_seed(7.0, False) == 7
    assert 0 <= resolve_seed(7, True, random.Random(0)) <= MAX_SEED
    for bad in (None, -1, 1.5, MAX_SEED + 1):
        with pytest.raises(ValueError, match="Seed"):
            resolve_seed(bad, False)


def test_sampler_choices_follow_the_objective():
    for objective, names in SAMPLERS.items():
        assert samplers_for(objective) == ["default", *names]


# runtime

def test_device_policy(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.choose_runtime() == ("cuda", "int8")
    assert runtime.choose_runtime(quantization="none") == ("cuda", None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.choose_runtime() == ("cpu", None)
    assert runtime.choose_runtime(quantization="int8") == ("cpu", "int8")
    with pytest.raises(ValueError, match="no CUDA device"):
        runtime.choose_runtime("cuda")
    with pytest.raises(ValueError, match="quantization must be one of"):
        runtime.choose_runtime(quantization="fp8")


def test_gpu_decorator_uses_spaces_only_when_importable(monkeypatch):
    def f():
        return 1

    monkeypatch.setattr(runtime, "spaces", None)
    assert runtime.gpu(f) is f

    class FakeSpaces:
        @staticmethod
        def GPU(fn):
            return ("wrapped", fn)

    monkeypatch.setattr(runtime, "spaces", FakeSpaces)
    assert runtime.gpu(f) == ("wrapped", f)


def test_missing_checkpoint_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="pass the folder of a checkpoint"):
        runtime.load_pipeline(tmp_path / "nothing")


def test_int8_on_the_cpu_by_flag(ckpt_dir):
    pipe8 = runtime.load_pipeline(ckpt_dir, "cpu", "int8")
    assert pipe8.quantization == "int8" and isinstance(pipe8.checkpoint.model.blocks[0].attn.qkv, TorchInt8Linear)


# chat history <-> messages

def test_every_form_of_chatbot_part_becomes_text_or_an_image(tmp_path):
    a = png(Image.new("RGB", (64, 64), (255, 0, 0)), tmp_path / "a.png")
    b = png(Image.new("RGB", (32, 32), (0, 0, 255)), tmp_path / "b.png")
    history = [
        {"role": "user", "content": [{"type": "file", "file": {"path": a}}, {"type": "text", "text": "what is this?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "a red square"}]},
        {"role": "assistant", "content": [{"type": "component", "component": "image", "value": {"path": b}}, ""]},
        {"role": "system", "content": "ignored"},
        {"role": "user", "content": "make it blue"},
        {"role": "assistant", "content": [{"type": "component", "component": "image", "value": b}]},
        {"role": "user", "content": [{"path": a}, "and this?"]},
    ]
    messages = to_messages(history)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    first, second = messages[0]["content"], messages[1]["content"]
    assert isinstance(first[0], Image.Image) and first[0].getpixel((0, 0)) == (255, 0, 0) and first[1] == "what is this?"
    assert second[0] == "a red square" and second[1].size == (32, 32)  # merged, empty text dropped
    assert messages[2]["content"] == ["make it blue"]


def test_an_unfinished_reply_is_left_out(tmp_path):
    a = png(Image.new("RGB", (8, 8)), tmp_path / "a.png")
    preview = {"type": "component", "component": "image", "value": {"path": a},
               "constructor_args": {"label": "drawing: step 3/25"}}
    history = [{"role": "user", "content": ["draw"]},
               {"role": "assistant", "content": [{"type": "text", "text": "here"}, preview]},
               {"role": "assistant", "content": [DRAWING]}]
    assert to_messages(history) == [{"role": "user", "content": ["draw"]}, {"role": "assistant", "content": ["here"]}]


def test_unreadable_history_parts_are_refused_with_a_reason(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="no longer on the server"):
        to_messages([{"role": "user", "content": [{"path": str(tmp_path / "gone.png")}]}])
    with pytest.raises(ValueError, match="not a picture"):
        user_message({"text": "hi", "files": [str(tmp_path / "notes.txt")]})
    with pytest.raises(ValueError, match="reads only text and images"):
        to_messages([{"role": "user", "content": [{"type": "component", "component": "audio", "value": {}}]}])


def test_user_message_puts_images_first_and_ignores_empty_input(tmp_path):
    a = png(Image.new("RGB", (8, 8)), tmp_path / "a.png")
    assert user_message({"text": "  how many shapes are there? ", "files": [a]}) == \
        {"role": "user", "content": [{"path": a}, "how many shapes are there?"]}
    assert user_message({"text": " ", "files": []}) is None
    assert user_message("hi") == {"role": "user", "content": ["hi"]}


def test_retry_and_undo_cut_the_history(tmp_path):
    a = png(Image.new("RGB", (8, 8)), tmp_path / "a.png")
    history = [
        {"role": "user", "content": [{"type": "text", "text": "draw"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
        {"role": "user", "content": [{"type": "file", "file": {"path": a}}, {"type": "text", "text": "edit it"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "done"}]},
    ]
    assert retry_history(history) == history[:3]
    before, box = undo_history(history)
    assert before == history[:2] and box == {"text": "edit it", "files": [a]}
    assert undo_history([]) == ([], {"text": "", "files": []})
    with pytest.raises(ValueError, match="nothing to retry"):
        retry_history([])


def test_preview_steps_are_few_and_include_the_last():
    assert preview_steps(25) == {5, 10, 15, 20, 25}
    assert preview_steps(2) == {1, 2}
    assert preview_steps(7) == {1, 2, 3, 4, 5, 6, 7}


def test_streamed_reply_shows_the_drawing_and_ends_with_the_pipelines_reply(pipe):
    messages = [{"role": "user", "content": ["draw a large red circle in the center on a white background"]}]
    settings = to_settings(steps=10, max_new_tokens=32)
    snaps = list(stream_reply(pipe, messages, 3, settings, coalesce=False))
    expected = pipe.chat(messages, seed=3, **settings)
    final = snaps[-1].parts
    assert [type(p) for p in final] == [type(p) for p in expected] == [Image.Image, str]
    assert same_pixels(final[0], expected[0]) and final[1] == expected[1] == SCRIPTED_REPLY
    assert snaps[0].parts == [None] and snaps[0].drawing == (0, 0)  # BOI: the image is coming
    drawing = [s.drawing for s in snaps if s.drawing]
    assert drawing[1:] == [(i, 10) for i in range(1, 10)]
    previews = [s.parts[0] for s in snaps if s.drawing and isinstance(s.parts[0], Image.Image)]
    assert len(previews) >= 4
    texts = [s.parts[-1] for s in snaps if len(s.parts) == 2]
    assert texts[0] != SCRIPTED_REPLY and texts[-1] == SCRIPTED_REPLY  # the words arrive one by one
    coalesced = list(stream_reply(pipe, messages, 3, settings))  # a slow reader gets the latest state
    assert same_pixels(coalesced[-1].parts[0], expected[0]) and coalesced[-1].parts[1] == SCRIPTED_REPLY


def test_reply_message_orders_parts_and_labels_the_drawing():
    img = Image.new("RGB", (64, 64))
    assert reply_message(Snapshot(["hi", None], (0, 0)))["content"] == ["hi", DRAWING]
    content = reply_message(Snapshot(["hi", img], (3, 10)))["content"]
    assert content[0] == "hi" and isinstance(content[1], gr.Image) and content[1].label == "drawing: step 3/10"
    done = reply_message(Snapshot([img, "words"]))["content"]
    assert isinstance(done[0], gr.Image) and done[0].label is None and done[1] == "words"


def test_pictures_become_files_written_once():
    img = Image.new("RGB", (8, 8), (1, 2, 3))
    path = image_file(img)
    written = os.stat(path).st_mtime_ns
    time.sleep(0.01)
    assert image_file(img.copy()) == path and os.stat(path).st_mtime_ns == written  # not rewritten
    assert same_pixels(Image.open(path), img) and image_file(Image.new("RGB", (8, 8))) != path


# editor

def test_edit_session_keeps_every_version_and_goes_back():
    original, one, two = (Image.new("RGB", (64, 64), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255)))
    s = EditSession()
    assert s.locate(original) == 0
    assert s.add(one, "make it green", 1, parent=0) == 1
    assert s.locate(one.copy()) == 1  # found by its pixels, as after a round trip through the browser
    assert s.add(two, "make it blue", 2, parent=1) == 2
    assert same_pixels(s.back(two), one) and same_pixels(s.back(one), original) and same_pixels(s.back(original), original)
    assert [c for _, c in s.gallery()] == ["0: original", "1: make it green (seed 1)", "2: make it blue (seed 2)"]
    assert s.locate(Image.new("RGB", (64, 64), (9, 9, 9))) == 0 and len(s.versions) == 1  # a new picture: a new session


def test_a_full_edit_session_refuses_more_and_a_new_picture_starts_afresh(demo, monkeypatch):
    from transfusion.app import editor

    monkeypatch.setattr(editor, "MAX_VERSIONS", 2)
    monkeypatch.setattr("transfusion.app.handlers.MAX_VERSIONS", 2)
    picture = render(SCENES["red_circle"])
    result, session, _, _ = run(demo.edit(picture, "make the red circle blue", None, 1, False, Recorder(),
                                          **edit_values()))
    assert len(session.versions) == 2
    with pytest.raises(gr.Error, match="holds 2 versions"):
        run(demo.edit(Image.open(result), "make it bigger", session, 1, False, Recorder(), **edit_values()))
    assert len(session.versions) == 2  # nothing lost
    other = render(SCENES["three_shapes"])
    _, session, strip, _ = run(demo.edit(other, "remove the pink circle", session, 1, False, Recorder(),
                                         **edit_values()))
    assert len(strip) == 2  # a new picture: a new session


# about

CARD = """# ShapesWorld model

## Evaluation

ShapesWorld evaluation: 100 cases per group, seed 0

| capability | measure | score | cases |
| --- | --- | ---: | ---: |
| image → text | exact canonical caption | 97.0 % | 100 |

## Training

3 hours.
"""


def test_evaluation_section_is_read_from_the_model_card():
    section = evaluation_section(CARD)
    assert section.startswith("ShapesWorld evaluation") and "97.0 %" in section and "Training" not in section
    assert evaluation_section("# Card\n\ntext\n\n| a | b |\n| - | - |\n| 1 | 2 |\n") == "| a | b |\n| - | - |\n| 1 | 2 |"
    assert evaluation_section("# Card\n\nno scores") is None


def test_about_names_the_world_the_size_device_and_scores(pipe, ckpt_dir, tmp_path):
    world = app_world(ckpt_dir, 64)  # a checkpoint without world.json is a ShapesWorld model
    text = about_markdown(pipe, ckpt_dir, world.knows, world.grade.replace("{checkpoint}", str(ckpt_dir)))
    assert "circle, square, triangle, diamond" in text and "in the top left corner" in text
    assert f"{pipe.checkpoint.model.num_parameters():,} parameters" in text
    assert "| device | cpu |" in text and "none (full precision)" in text
    assert "No `MODEL_CARD.md`" in text and f"python -m transfusion.evaluation --model {ckpt_dir}" in text
    card_dir = tmp_path / "ckpt"
    card_dir.mkdir()
    (card_dir / "MODEL_CARD.md").write_text(CARD)
    assert "97.0 %" in about_markdown(pipe, card_dir, world.knows, "")


def test_a_folder_checkpoint_shows_its_own_world(pipe, tmp_path):
    from folder_helpers import write_fixture

    from transfusion.folder.app import write_world_card
    from transfusion.folder.format import read_folder

    folder = read_folder(write_fixture(tmp_path / "colours"))
    model = tmp_path / "model"
    model.mkdir()
    card = write_world_card(folder, model)
    assert card["world"] == "folder" and card["pictures"] == 9 and len(card["draw"]) == 6
    world = app_world(model, 32)
    assert world.name == "colours" and "9 pictures" in world.knows and "ShapesWorld" not in world.knows
    assert world.chat_placeholder == card["draw"][0] and len(world.edit_examples) == 4
    assert all(Path(p).exists() and Path(p).parent == model / "examples" for p, _ in world.edit_examples)
    assert "green bar" not in json.dumps(card)  # held out: not even an example
    assert world.grade.endswith(f"--data {tmp_path / 'colours'}")
    outside = world.outside_reply
    said = outside([{"role": "user", "content": ["draw a spaceship"]}])
    assert "9 pictures" in said and card["draw"][0] in said
    assert outside([{"role": "user", "content": ["hello"]}]) is not None
    assert outside([{"role": "user", "content": ["can you draw a red disc please?"]}]) is None
    picture = Image.open(world.edit_examples[0][0])
    assert outside([{"role": "user", "content": [picture, "what is the weather?"]}]) is None  # about a picture
    demo = Demo(pipe, model)
    *_, (box, history, seed) = list(demo.chat_send({"text": "draw a spaceship", "files": []}, [], 0, False, Recorder(),
                                                   **chat_values()))
    assert history[-1] == {"role": "assistant", "content": said}  # told, not drawn
    (folder.root / "about.md").write_text("## What the model knows: colours\n\nThree colours, three shapes.")
    (folder.root / "name.txt").write_text("Colour bars\n")
    write_world_card(folder, model)
    assert app_world(model, 32).knows.startswith("## What the model knows: colours")
    assert app_world(model, 32).name == "Colour bars"  # the picker's name, from the folder
    (model / "world.json").write_text('{"world": "mars"}')
    with pytest.raises(ValueError, match="'world' must be one of"):
        app_world(model, 32)


# examples

def test_examples_are_canonical_and_their_pictures_are_current(tmp_path):
    for name, path in example_images().items():
        assert same_pixels(Image.open(path), render(SCENES[name])), f"{path} is stale: delete it to re-render"
    for name, instruction in EDITS:
        parse_edit(instruction, SCENES[name])  # raises if not a valid canonical edit of that picture
    people = {"draw a red circle", "what can you draw?", "a big blue square and a small yellow triangle on black"}
    for example in chat_examples():
        assert not held_out_phrasings_in(example["text"])  # only words the model was trained on
        if example["text"] in people:
            continue
        if not example["files"] and not example["text"].startswith(("make", "move")):
            parse_caption(example["text"].removeprefix("draw "))
    assert len(edit_examples(tmp_path)) == len(EDITS) and len(list(tmp_path.glob("*.png"))) == len(SCENES)


# handlers, in process

def run(gen):
    """Drain a handler's generator; returns its last output."""
    out = None
    for out in gen:
        pass
    return out


def test_chat_send_streams_with_progress_and_serialises_on_the_lock(demo, monkeypatch):
    from transfusion.app import handlers

    # every event its own update: a slow reader (a busy CPU) would otherwise fold step 1 into the last
    monkeypatch.setattr(handlers, "stream_reply", functools.partial(handlers.stream_reply, coalesce=False))
    progress = Recorder()
    outs = list(demo.chat_send({"text": "draw a large red circle in the center on a white background", "files": []},
                               [], 4, False, progress, **chat_values()))
    box, history, seed = outs[-1]
    assert seed == 4 and [m["role"] for m in history] == ["user", "assistant"]
    parts = history[-1]["content"]
    assert isinstance(parts[0], gr.Image) and parts[1] == SCRIPTED_REPLY
    assert progress.calls == [(1, 2)]  # the last step ends the drawing: no bar left behind
    assert isinstance(outs[0][0], gr.MultimodalTextbox) and not outs[0][0].interactive
    assert not demo.lock.locked()


def test_chat_errors_are_explained(demo, pipe):
    with pytest.raises(gr.Error, match="Type a message"):
        run(demo.chat_send({"text": "", "files": []}, [], 0, False, Recorder(), **chat_values()))
    with pytest.raises(gr.Error, match="Denoising steps"):
        run(demo.chat_send({"text": "hi", "files": []}, [], 0, False, Recorder(), **chat_values(steps=1.5)))
    img = Image.new("RGB", (64, 64))
    long_chat = [{"role": "user", "content": [img, "x"]} if k % 2 == 0 else {"role": "assistant", "content": [img]}
                 for k in range(9)]  # 9 images: over the 512-token context
    with pytest.warns(UserWarning, match="sees only the latest messages, not the first 4"):
        history, _ = run(demo.chat_retry(long_chat, 0, False, Recorder(), **chat_values()))
    assert history[:9] == long_chat and history[-1]["role"] == "assistant"  # answered from the latest messages
    too_big = [{"role": "user", "content": [img] * 8 + ["what is this?"]}]  # one message over the context
    outs = []
    with pytest.raises(gr.Error, match="Your message takes 5[0-9][0-9] tokens.*Shorten it"):
        for out in demo.chat_retry(too_big, 0, False, Recorder(), **chat_values()):
            outs.append(out)
    assert outs[-1][0] == too_big  # the chat is left as it was, ready for undo
    assert not demo.lock.locked()


def test_edit_keep_editing_and_back(demo, tmp_path):
    picture = render(SCENES["red_circle"])
    result, session, strip, seed = run(demo.edit(picture, "make the red circle blue", None, 9, False, Recorder(),
                                                 **edit_values()))
    assert seed == 9 and [c for _, c in strip] == ["0: original", "1: make the red circle blue (seed 9)"]
    result = Image.open(result)  # a PNG file, as the browser gets it
    assert result.size == (64, 64) and same_pixels(Image.open(strip[1][0]), result)
    source = Image.open(demo.keep_editing(result))
    result2, session, strip, _ = run(demo.edit(source, "make the blue circle bigger", session, 0, True, Recorder(),
                                               **edit_values()))
    assert len(strip) == 3 and session.versions[2].parent == 1
    back, session = demo.back(Image.open(result2), session)
    assert same_pixels(Image.open(back), result)
    with pytest.raises(gr.Error, match="run an edit first"):
        demo.keep_editing(None)
    with pytest.raises(gr.Error, match="Write an instruction"):
        run(demo.edit(picture, " ", session, 0, False, Recorder(), **edit_values()))


def test_a_reply_nobody_reads_to_the_end_still_frees_the_model(demo):
    gen = demo.chat_send({"text": "draw", "files": []}, [], 0, False, Recorder(), **chat_values())
    next(gen), next(gen)  # the user's message, then the first snapshot: the model is running
    deadline = time.monotonic() + 30
    while demo.lock.locked() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not demo.lock.locked()  # released by the worker, though `gen` is neither drained nor closed
    gen.close()


def test_model_calls_never_overlap(demo, monkeypatch):
    active, most = [0], [0]
    edit = demo.pipe.edit_with_progress

    def counting(*args, **kwargs):
        active[0] += 1
        most[0] = max(most[0], active[0])
        try:
            time.sleep(0.05)
            return edit(*args, **kwargs)
        finally:
            active[0] -= 1

    monkeypatch.setattr(demo.pipe, "edit_with_progress", counting)
    picture = render(SCENES["red_circle"])
    threads = [threading.Thread(target=run, args=(demo.edit(picture, "make the red circle blue", None, k, False,
                                                            Recorder(), **edit_values(steps=1)),))
               for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1


def test_app_builds_from_the_package(demo):
    from transfusion.app import demo as app

    args = app.parse_args(["--checkpoint", "x", "--quantization", "int8", "--port", "7000"])
    assert (args.checkpoint, args.quantization, args.port, args.share, args.host) == (["x"], "int8", 7000, False, None)
    blocks = app.build(demo)
    names = {d.api_name for d in blocks.fns.values()}
    assert {"chat", "retry", "undo", "clear", "edit", "keep_editing", "back"} <= names
    picker = next(b for b in blocks.blocks.values() if getattr(b, "elem_id", None) == "model-picker")
    assert not picker.visible  # one model: nothing to pick


def test_several_checkpoints_get_a_picker_and_their_own_api_names(pipe, ckpt_dir, tmp_path):
    from folder_helpers import write_fixture

    from transfusion.app import demo as app
    from transfusion.app.runtime import built_in_checkpoints
    from transfusion.folder.app import write_world_card
    from transfusion.folder.format import read_folder
    from transfusion.pipeline import BUILT_IN

    assert built_in_checkpoints()[0] == BUILT_IN
    assert app.parse_args(["--checkpoint", "a", "--checkpoint", "b"]).checkpoint == ["a", "b"]
    folder_ckpt = tmp_path / "colours"
    folder_ckpt.mkdir()
    write_world_card(read_folder(write_fixture(tmp_path / "colours-data")), folder_ckpt)
    demos = [Demo(pipe, ckpt_dir), Demo(pipe, folder_ckpt), Demo(pipe, ckpt_dir)]
    shapes = f"ShapesWorld ({ckpt_dir.name})"
    assert app.model_names(demos) == [f"{shapes} 1", "colours-data", f"{shapes} 2"]
    blocks = app.build(demos[:2])
    names = {d.api_name for d in blocks.fns.values()}
    assert {"chat", "edit", "chat_1", "edit_1", "keep_editing_1"} <= names and "edit_1_1" not in names
    editors = {b.elem_id: b for b in blocks.blocks.values() if getattr(b, "elem_id", None) in ("edit-input", "edit-input_1")}
    events = {d.api_name: d for d in blocks.fns.values()}
    assert events["edit_1"].inputs[0] is editors["edit-input_1"] and events["edit"].inputs[0] is editors["edit-input"]
    picker = next(b for b in blocks.blocks.values() if getattr(b, "elem_id", None) == "model-picker")
    assert picker.visible and picker.choices == [("ShapesWorld", "ShapesWorld"), ("colours-data", "colours-data")]
    boxes = {b.elem_id: b for b in blocks.blocks.values() if isinstance(b, gr.MultimodalTextbox)}
    assert boxes["chat-input_1"].placeholder != boxes["chat-input"].placeholder  # each world its own


def test_the_app_wires_the_settings_in_the_order_the_handlers_read_them(demo):
    from transfusion.app import demo as app

    label = {**{name: c.label for name, c in CONTROLS.items()}, "sampler": "Sampler"}
    events = {d.api_name: d for d in app.build(demo).fns.values()}
    for api, names in (("chat", CHAT_SETTINGS), ("retry", CHAT_SETTINGS), ("edit", EDIT_SETTINGS)):
        assert [c.label for c in events[api].inputs[-len(names):]] == [label[name] for name in names], api


def test_the_sliders_start_at_the_checkpoints_defaults(demo, monkeypatch):
    from transfusion.app import demo as app

    monkeypatch.setattr(demo.pipe.checkpoint, "defaults", Settings(steps=7, guidance=2.5))
    sliders = [b for b in app.build(demo).blocks.values() if isinstance(b, gr.Slider)]
    steps = [b.value for b in sliders if b.label == CONTROLS["steps"].label]
    guidance = [b.value for b in sliders if b.label == CONTROLS["guidance"].label]
    assert steps == [7, 7] and guidance == [2.5, 2.5]  # the chat's and the editor's
