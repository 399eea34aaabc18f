"""Prepare the emoji world as a folder of the project's format: `python -m transfusion.emoji.prepare --out data/emoji`.

Fetches two pinned npm packages with the ordinary client (`npm pack`, node and npm must be
installed; nothing else is downloaded), checks their SHA-256, and writes (`folder/format.py`):

    images/<hexcode>.png  every Google Noto picture, composited over white, --size pixels
    captions.jsonl        the CLDR label as the caption; "draw a thumbs up" ... as prompts
    questions.jsonl       "what group is it in?" for every picture; "what skin tone is it?" for
                          every member of a skin-tone family (the base answers "default yellow")
    edits.jsonl           within a skin-tone family, any tone to any other ("make it dark skin
                          tone"; "make it default yellow" back to the base); man / woman / person
                          where emojibase has the trio, in the same tone
    held_out.txt          about 10 % of the one-tone variants (one tone in half the families,
                          chosen by a fixed hash): their pictures are never trained on, while the
                          base and the tone are, as held-out colour-shape pairs in ShapesWorld
    NOTICE                the credits and licences
    about.md              what the app's About tab says of the emoji world
    name.txt              "Emoji": the world's name in the app's model picker

Never the `-apple` or `-facebook` image sets: they are not licensed for this.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

from PIL import Image

from ..folder.app import ABOUT, NAME
from ..folder.app import NOTICE as NOTICE_FILE
from ..folder.format import CAPTIONS, EDITS, HELD_OUT, QUESTIONS, write_jsonl
from .catalogue import GENDERS, NO_TONE, TONE_NAMES, Emoji, build_catalogue, gender_trios, single_tone_families

# name -> (version, SHA-256 of the npm tarball)
PACKAGES: dict[str, tuple[str, str]] = {
    "emoji-datasource-google": ("16.0.0", "fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438"),
    "emojibase-data": ("17.0.0", "d01d0e2ca4e22cb402679532155342c71e2e871f25c32223c013b8b166ebdf5a"),
}
WORLD_NAME = "Emoji"  # the app's picker shows it
SOURCE_SIZE = 64  # the datasource's picture folder we read: img/google/64/
HELD_OUT_SALT = "emoji held out v1"
GROUP_QUESTIONS = ("what group is it in?", "which emoji group is this?")
TONE_QUESTIONS = ("what skin tone is it?", "which skin tone does it have?")
TONE_EDITS = ("make it {tone}", "change it to {tone}")
GENDER_EDITS = {"man": ("make it a man", "turn it into a man"), "woman": ("make it a woman", "turn it into a woman"),
                "person": ("make it a person", "turn it into a person")}
NOTICE = """The emoji pictures in this folder (and the model trained on them) come from:
- Noto Emoji by Google, Apache License 2.0 (https://github.com/googlefonts/noto-emoji),
  as packaged in emoji-datasource-google {datasource} by Cal Henderson / iamcal, MIT License.
- Emoji names (CLDR labels), groups and skin tones from emojibase-data {emojibase}, MIT License
  (https://emojibase.dev); CLDR data by the Unicode Consortium.
Pictures were composited over white and resized to {size} x {size} pixels.
"""
ABOUT_TEXT = """## What the model knows: emoji

This model was trained from scratch, by this project, on the **{pictures:,} Google Noto emoji**
({size} × {size} pixels, over white) named by their CLDR labels: {bases:,} emoji and their skin-tone
variants. {held:,} one-tone variants were held out of training: asking for one (say “{example}”)
shows whether it composes an emoji and a skin tone it learned apart.

- **Draw:** by name: “draw a thumbs up”, “thumbs up: dark skin tone”, “a waving hand”. It draws
  the emoji that come in skin tones far better than the one-of-a-kind ones (an apple, a flag),
  which come out in their colours and rough shape but not their detail: the model card has the
  figures.
- **Ask** about a picture: “what is this?”, “what group is it in?”, “what skin tone is it?”.
- **Edit:** “make it dark skin tone” (any of light, medium-light, medium, medium-dark, dark,
  or “default yellow”), and “make it a woman” / “a man” / “a person” where the emoji has all three.

Art: Noto Emoji by Google (Apache-2.0), packaged by emoji-datasource-google (MIT); names from
emojibase (MIT). See the NOTICE beside the weights.
"""


def tarball(cache: Path, name: str) -> Path:
    """The package's tarball in `cache`, fetched with `npm pack` when missing; its SHA-256 checked."""
    version, sha256 = PACKAGES[name]
    path = cache / f"{name}-{version}.tgz"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        if shutil.which("npm") is None:
            raise RuntimeError("npm is needed to fetch the emoji packages (install node and npm, e.g. apt install npm)")
        subprocess.run(["npm", "pack", f"{name}@{version}", "--pack-destination", str(cache)], check=True,
                       stdout=subprocess.DEVNULL)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise ValueError(f"{path}: SHA-256 {digest}, expected {sha256}; delete the file to fetch it again")
    return path


def article(label: str) -> str:
    return "an" if label[:1].lower() in "aeiou" else "a"


def prompts(label: str) -> list[str]:
    a = article(label)
    return [f"draw {a} {label}", f"{a} {label}", f"show me {a} {label}", f"can you draw {a} {label}?"]


def held_out(catalogue: list[Emoji]) -> set[str]:
    """Hexcodes held out: one tone (by a fixed hash) in half the skin-tone families (the half
    that a fixed hash orders first), about 10 % of the one-tone variants."""
    def h(base: str) -> int:
        return int(hashlib.sha256(f"{HELD_OUT_SALT}:{base}".encode()).hexdigest(), 16)

    families = single_tone_families(catalogue)
    chosen = sorted(families, key=h)[: len(families) // 2]
    return {families[base][1 + h(base) % 5].hexcode for base in chosen}


def edits(catalogue: list[Emoji]) -> list[tuple[Emoji, str, Emoji, str]]:
    """(source, instruction, target, kind): tone changes within a family ("tone"), and gender
    changes in one tone ("gender")."""
    out = []
    families = single_tone_families(catalogue)
    for family in families.values():
        for a in family.values():
            for b in family.values():
                if a is not b:
                    tone = TONE_NAMES[b.tones[0]] if b.tones else NO_TONE
                    out += [(a, t.format(tone=tone), b, "tone") for t in TONE_EDITS]
    for trio in gender_trios(catalogue):
        tones = [None] + [t for t in TONE_NAMES if all(trio[g].hexcode in families for g in GENDERS)]
        for tone in tones:
            members = {g: families[trio[g].hexcode][tone] if tone else trio[g] for g in GENDERS}
            for g, a in members.items():
                for h, b in members.items():
                    if g != h:
                        out += [(a, t, b, "gender") for t in GENDER_EDITS[h]]
    return out


def file_of(e: Emoji) -> str:
    return f"images/{e.hexcode.lower()}.png"


def prepare(out: Path, cache: Path, size: int = SOURCE_SIZE) -> dict:
    """Fetch (or reuse) the two packages and write the folder; returns its counts."""
    with tarfile.open(tarball(cache, "emoji-datasource-google")) as t:
        datasource = json.load(t.extractfile("package/emoji.json"))
        pictures = {Path(m.name).name: t.extractfile(m).read() for m in t.getmembers()
                    if m.isfile() and m.name.startswith(f"package/img/google/{SOURCE_SIZE}/")}
    with tarfile.open(tarball(cache, "emojibase-data")) as t:
        emojibase = json.load(t.extractfile("package/en/data.json"))
    return write_world(out, datasource, emojibase, pictures, size)


def write_world(out: Path, datasource: list[dict], emojibase: list[dict], pictures: dict[str, bytes], size: int) -> dict:
    """Write the folder from the parsed packages (`pictures`: file name -> PNG bytes); returns its counts."""
    catalogue = build_catalogue(datasource, emojibase)
    (out / "images").mkdir(parents=True, exist_ok=True)
    for e in catalogue:
        with Image.open(io.BytesIO(pictures[e.image])) as im:
            rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(white, rgba).convert("RGB")
        if picture.size != (size, size):
            picture = picture.resize((size, size), Image.Resampling.LANCZOS)
        picture.save(out / file_of(e), optimize=True)
    by_hexcode = {e.hexcode: e for e in catalogue}
    in_family = {m.hexcode for f in single_tone_families(catalogue).values() for m in f.values()} | {
        e.hexcode for e in catalogue if e.tones}

    def attributes(e: Emoji) -> dict[str, str]:  # what a drawing is also graded on: its emoji, its tone
        return {"emoji": by_hexcode[e.base].label} | ({"tone": e.tone_name} if e.hexcode in in_family else {})

    write_jsonl(out / CAPTIONS, ({"image": file_of(e), "caption": e.label, "prompts": prompts(e.label),
                                  "attributes": attributes(e)} for e in catalogue))
    questions = [{"image": file_of(e), "question": q, "answer": e.group, "kind": "group"}
                 for e in catalogue for q in GROUP_QUESTIONS]
    questions += [{"image": file_of(e), "question": q, "answer": e.tone_name, "kind": "skin tone"}
                  for e in catalogue if e.hexcode in in_family for q in TONE_QUESTIONS]
    write_jsonl(out / QUESTIONS, questions)
    rows = edits(catalogue)
    write_jsonl(out / EDITS, ({"source": file_of(a), "instruction": i, "target": file_of(b), "kind": k} for a, i, b, k in rows))
    held = sorted(held_out(catalogue))
    (out / HELD_OUT).write_text("".join(f"{file_of(by_hexcode[h])}\n" for h in held))
    example = by_hexcode[held[0]].label if held else "thumbs up: dark skin tone"
    (out / ABOUT).write_text(ABOUT_TEXT.format(pictures=len(catalogue), size=size, held=len(held), example=example,
                                               bases=sum(not e.tones for e in catalogue)), encoding="utf-8")
    (out / NAME).write_text(WORLD_NAME + "\n", encoding="utf-8")
    versions = {name: version for name, (version, _) in PACKAGES.items()}
    (out / NOTICE_FILE).write_text(NOTICE.format(datasource=versions["emoji-datasource-google"],
                                              emojibase=versions["emojibase-data"], size=size))
    return {"pictures": len(catalogue), "questions": len(questions), "edits": len(rows), "held out": len(held)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("data/emoji"), help="the folder to write")
    p.add_argument("--cache", type=Path, default=Path("cache/npm"), help="where the npm tarballs are kept")
    p.add_argument("--size", type=int, default=SOURCE_SIZE, help="picture size in pixels (the source is 64)")
    args = p.parse_args(argv)
    if not 8 <= args.size <= 256:
        p.error("--size must be from 8 to 256")
    counts = prepare(args.out, args.cache, args.size)
    print(", ".join(f"{v:,} {k}" for k, v in counts.items()), f"-> {args.out}")


if __name__ == "__main__":
    main()
