"""The emoji world's data: the join of the two packages, tone families, gender trios, held-out
variants, edits, and the folder it writes (read back by the folder format), on a tiny fake catalogue."""

import io

import pytest
from PIL import Image

from transfusion.emoji.catalogue import NO_TONE, build_catalogue, gender_trios, plain, single_tone_families
from transfusion.emoji.prepare import edits, held_out, write_world
from transfusion.folder.format import read_folder
from transfusion.folder.source import FolderSource

MODIFIERS = ("1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF")
TONES = ("light", "medium-light", "medium", "medium-dark", "dark")


def _datasource_row(unified, category="People & Body", tones=True, google=True):
    row = {"unified": unified, "image": unified.lower() + ".png", "category": category, "has_img_google": google}
    if tones:
        parts = unified.split("-")
        row["skin_variations"] = {m: {"unified": "-".join([parts[0], m, *parts[1:]]), "has_img_google": True,
                                      "image": "-".join([parts[0], m, *parts[1:]]).lower() + ".png"} for m in MODIFIERS}
    return row


def _emojibase_row(hexcode, label, tones=True):
    parts = hexcode.split("-")
    skins = [{"hexcode": "-".join([parts[0], m, *parts[1:]]), "label": f"{label}: {t} skin tone"}
             for m, t in zip(MODIFIERS, TONES)] if tones else []
    return {"hexcode": hexcode, "label": label, "skins": skins}


# thumbs up (tones), a man / woman / person trio (tones; the woman's hexcode carries FE0F in
# emojibase only), a flag (no tones), and a row without a Google picture
DATASOURCE = [
    _datasource_row("1F44D"),
    _datasource_row("1F3C3-200D-2642"), _datasource_row("1F3C3-200D-2640"), _datasource_row("1F3C3"),
    _datasource_row("1F1EF-1F1F5", category="Flags", tones=False),
    _datasource_row("1F9CC", tones=False, google=False),
]
EMOJIBASE = [
    _emojibase_row("1F44D", "thumbs up"),
    _emojibase_row("1F3C3-200D-2642-FE0F", "man running"), _emojibase_row("1F3C3-200D-2640-FE0F", "woman running"),
    _emojibase_row("1F3C3", "person running"),
    _emojibase_row("1F1EF-1F1F5", "flag: Japan", tones=False),
]


def _pictures(catalogue):
    out = {}
    for k, e in enumerate(catalogue):
        im = Image.new("RGBA", (64, 64), (0, 0, 0, 0))  # transparent: must come out white
        im.paste((10 * k % 255, 80, 200, 255), (16, 16, 48, 48))
        buf = io.BytesIO()
        im.save(buf, "PNG")
        out[e.image] = buf.getvalue()
    return out


def test_the_packages_join_on_the_plain_hexcode():
    assert plain("1f3c3-200d-2642-fe0f") == "1F3C3-200D-2642"
    catalogue = build_catalogue(DATASOURCE, EMOJIBASE)
    assert len(catalogue) == 4 * 6 + 1  # four bases with five tones each, the flag; no picture without Google art
    by_label = {e.label: e for e in catalogue}
    assert by_label["thumbs up: dark skin tone"].tones == (5,) and by_label["thumbs up"].tones == ()
    assert by_label["thumbs up"].tone_name == NO_TONE and by_label["flag: Japan"].group == "flags"
    assert by_label["woman running: medium skin tone"].base == "1F3C3-200D-2640"
    with pytest.raises(KeyError, match="no label"):
        build_catalogue(DATASOURCE, EMOJIBASE[:-1])


def test_families_trios_held_out_variants_and_edits():
    catalogue = build_catalogue(DATASOURCE, EMOJIBASE)
    families = single_tone_families(catalogue)
    assert len(families) == 4 and all(set(f) == {None, 1, 2, 3, 4, 5} for f in families.values())
    (trio,) = gender_trios(catalogue)
    assert {g: e.label for g, e in trio.items()} == {"man": "man running", "woman": "woman running", "person": "person running"}
    held = held_out(catalogue)
    assert len(held) == 2 and len({e.base for e in catalogue if e.hexcode in held}) == 2  # one tone, two families
    assert held == held_out(catalogue)  # fixed, not random
    rows = edits(catalogue)
    kinds = {k for *_, k in rows}
    assert kinds == {"tone", "gender"}
    tone = [(a.label, i, b.label) for a, i, b, k in rows if k == "tone"]
    assert ("thumbs up", "make it dark skin tone", "thumbs up: dark skin tone") in tone
    assert ("thumbs up: light skin tone", f"make it {NO_TONE}", "thumbs up") in tone
    gender = [(a.label, i, b.label) for a, i, b, k in rows if k == "gender"]
    assert ("man running: dark skin tone", "make it a woman", "woman running: dark skin tone") in gender
    assert len(tone) == 4 * 30 * 2 and len(gender) == 6 * 6 * 2  # ordered pairs, two phrasings; six tones of the trio


def test_the_written_world_is_a_folder_of_the_format(tmp_path):
    catalogue = build_catalogue(DATASOURCE, EMOJIBASE)
    counts = write_world(tmp_path, DATASOURCE, EMOJIBASE, _pictures(catalogue), size=32)
    folder = read_folder(tmp_path)
    assert counts == {"pictures": 25, "questions": 25 * 2 + 24 * 2, "edits": 4 * 60 + 72, "held out": 2}
    assert len(folder.entries) == 25 and len(folder.held_out) == 2
    thumbs = next(e for e in folder.entries if e.caption == "thumbs up: dark skin tone")
    assert thumbs.prompts[0] == "draw a thumbs up: dark skin tone"
    assert thumbs.attributes == {"emoji": "thumbs up", "tone": "dark skin tone"}
    flag = next(e for e in folder.entries if e.caption == "flag: Japan")
    assert flag.attributes == {"emoji": "flag: Japan"}  # no tone family, no tone to grade
    with Image.open(thumbs.image) as im:
        assert im.size == (32, 32) and im.mode == "RGB" and im.getpixel((0, 0)) == (255, 255, 255)
    assert {q.kind for q in folder.questions} == {"group", "skin tone"}
    assert "Apache" in (tmp_path / "NOTICE").read_text() and "MIT" in (tmp_path / "NOTICE").read_text()
    assert (tmp_path / "name.txt").read_text().strip() == "Emoji"  # the app's picker says so
    assert FolderSource(tmp_path).document(0)  # trains as any folder does
