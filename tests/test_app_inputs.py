"""What users send, in process: pictures (modes, bombs, damage, paths), text, context length."""

import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import bad_files
from app_helpers import scripted_checkpoint
from transfusion.app import pictures
from transfusion.app.context import fit_context, prompt_room, prompt_tokens
from transfusion.app.pictures import read_picture, to_rgb
from transfusion.app.text import MAX_CHARS, clean_text, user_text
from transfusion.checkpoint import Checkpoint


@pytest.fixture(autouse=True)
def pictures_in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.setattr(pictures, "ROOTS", [*pictures.ROOTS, tmp_path])


@pytest.mark.parametrize("mode", bad_files.MODES)
def test_every_mode_becomes_the_same_rgb_picture(tmp_path, mode):
    im = read_picture(bad_files.in_mode(tmp_path, mode))
    assert im.mode == "RGB" and im.size == (64, 64)
    a = np.asarray(im, dtype=int)
    if mode == "RGBA":
        assert (a[:, :32] == 255).all()  # transparent: laid over white
        assert np.abs(a[32, 40] - bad_files.RED).max() <= 8
    elif mode in ("L", "LA", "I;16"):  # grey: the disc is as dark as red's luminance, the rest white
        assert a[32, 32, 0] == a[32, 32, 1] == a[32, 32, 2] and 70 < a[32, 32, 0] < 110
        assert (a[0, 0] == 255).all()
    else:  # palette, CMYK JPEG, the GIF's first frame (its second is blue)
        assert np.abs(a[32, 32] - bad_files.RED).max() <= 24 and np.abs(a[0, 0] - 255).max() <= 8


def test_sixteen_bit_grey_is_scaled_not_clipped():
    a = np.array([[0, 257 * 128, 65535]], dtype=np.uint16)
    im = Image.fromarray(a)
    assert im.mode == "I;16" and np.asarray(to_rgb(im))[0, :, 0].tolist() == [0, 128, 255]


def test_a_decompression_bomb_is_refused_from_its_header(tmp_path):
    path = bad_files.bomb(tmp_path, 20000)
    assert path.stat().st_size < 1_000_000  # ~400 kB on disk, 400 megapixels decoded
    with pytest.raises(ValueError, match="too large to open: pictures may have at most 16.8 million pixels"):
        read_picture(path)  # PIL's own guard stops it at the header
    with pytest.raises(ValueError, match="5000 × 5000 pixels: pictures may have at most 16.8 million"):
        read_picture(bad_files.bomb(tmp_path, 5000))  # under PIL's guard (89 M): the app's check stops it


@pytest.mark.parametrize("make, reason", [(bad_files.not_an_image, "is not a picture"),
                                          (bad_files.truncated, "damaged or truncated"),
                                          (bad_files.corrupt, "damaged or truncated")])
def test_broken_files_are_refused_with_a_reason(tmp_path, make, reason):
    with pytest.raises(ValueError, match=reason):
        read_picture(make(tmp_path))


def test_no_path_outside_the_servers_folders_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(pictures, "ROOTS", [tmp_path / "cache"])
    (tmp_path / "cache").mkdir()
    outside = tmp_path / "secret.png"
    Image.new("RGB", (8, 8)).save(outside)
    inside = tmp_path / "cache" / "ok.png"
    Image.new("RGB", (8, 8)).save(inside)
    link = tmp_path / "cache" / "link.png"
    os.symlink(outside, link)
    assert read_picture(inside).size == (8, 8)
    for path in (outside, link, tmp_path / "cache" / ".." / "secret.png", "/etc/hostname"):
        with pytest.raises(ValueError, match="not uploaded to this server"):
            read_picture(path)


def test_gradios_cache_is_a_root_by_default(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "g"))
    monkeypatch.setattr(pictures, "ROOTS", [pictures._gradio_cache])
    assert pictures.inside_roots(tmp_path / "g" / "abc" / "x.png")
    assert not pictures.inside_roots(tmp_path / "x.png")


def test_control_characters_go_emoji_stay():
    assert clean_text("draw\x00 a red\x1b[31m circle\u202e\t\nnow 🔴👍🏽 👨‍👩‍👧") == "draw a red[31m circle now 🔴👍🏽 👨‍👩‍👧"
    assert clean_text("\x00\x01 \u200b ") == ""


def test_an_overlong_message_is_refused_before_tokenizing():
    assert user_text("x" * MAX_CHARS) == "x" * MAX_CHARS
    with pytest.raises(ValueError, match=f"is {MAX_CHARS + 1:,} characters long; the limit is {MAX_CHARS:,}"):
        user_text("x" * (MAX_CHARS + 1))


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return Checkpoint.from_pretrained(scripted_checkpoint(tmp_path_factory.mktemp("tiny")))


def test_a_long_chat_keeps_its_latest_messages_that_fit(ckpt):
    tk, config = ckpt.tokenizer, ckpt.config
    img = Image.new("RGB", (64, 64))
    chat = []
    for k in range(6):
        chat += [{"role": "user", "content": [img, f"make it move {k}"]}, {"role": "assistant", "content": [img, "here"]}]
    chat.append({"role": "user", "content": ["make it bigger"]})
    kept, dropped = fit_context(chat, tk, config)
    assert kept == chat[dropped:] and kept[0]["role"] == "user" and dropped > 0
    assert prompt_tokens(kept, tk, config) <= prompt_room(config)
    assert prompt_tokens(chat[dropped - 2:], tk, config) > prompt_room(config)  # as many as fit
    short = chat[-3:]
    assert fit_context(short, tk, config) == (short, 0)


def test_a_message_that_cannot_fit_alone_is_refused(ckpt):
    with pytest.raises(ValueError, match=r"Your message takes \d+ tokens .* Shorten it"):
        fit_context([{"role": "user", "content": ["red " * 600]}], ckpt.tokenizer, ckpt.config)


def test_old_pictures_are_swept_from_the_apps_folder(monkeypatch):
    from transfusion.app import files

    old = Path(files.image_file(Image.new("RGB", (4, 4), (1, 2, 3))))
    os.utime(old, (time.time() - files.MAX_AGE - 60,) * 2)
    new = Path(files.image_file(Image.new("RGB", (4, 4), (4, 5, 6))))
    monkeypatch.setattr(files, "SWEEP_EVERY", 1)
    files.image_file(Image.new("RGB", (4, 4), (7, 8, 9)))  # a write that triggers the sweep
    assert not old.exists() and new.exists()
