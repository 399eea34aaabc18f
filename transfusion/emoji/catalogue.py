"""The emoji catalogue: Noto emoji pictures joined with their CLDR names, tones and families.

`emoji-datasource-google` gives each picture (`unified`, `image`, `category`, and the skin-tone
variants of a base emoji); `emojibase-data` gives the CLDR label ("thumbs up", "thumbs up: dark
skin tone"). They are joined on the hexcode with the emoji variation selector (`-FE0F`) removed
on both sides, case-insensitively. `build_catalogue` is pure: it takes the two parsed JSON
files and returns the entries; `prepare.py` fetches the files and writes the folder.
"""

from __future__ import annotations

from dataclasses import dataclass

# emojibase's skin tones 1-5, by the modifier's hexcode (the Fitzpatrick modifiers)
TONE_OF_MODIFIER: dict[str, int] = {"1F3FB": 1, "1F3FC": 2, "1F3FD": 3, "1F3FE": 4, "1F3FF": 5}
TONE_NAMES: dict[int, str] = {
    1: "light skin tone", 2: "medium-light skin tone", 3: "medium skin tone", 4: "medium-dark skin tone", 5: "dark skin tone",
}
NO_TONE = "default yellow"  # what a base emoji of a tone family answers to "what skin tone is it?"
GENDERS: tuple[str, ...] = ("man", "woman", "person")


@dataclass(frozen=True)
class Emoji:
    hexcode: str  # without FE0F, upper case, e.g. "1F44D-1F3FF"
    image: str  # the datasource's file name, e.g. "1f44d-1f3ff.png"
    label: str  # CLDR, e.g. "thumbs up: dark skin tone"
    group: str  # the datasource's category, lower case, e.g. "people & body"
    base: str  # the hexcode of its base emoji (itself for a base)
    tones: tuple[int, ...]  # () for a base, (5,) for one tone, (1, 5) for two people of two tones

    @property
    def tone_name(self) -> str:
        """Its skin tone in words: 'dark skin tone', 'light skin tone, dark skin tone', or NO_TONE."""
        return ", ".join(TONE_NAMES[t] for t in self.tones) if self.tones else NO_TONE


def plain(hexcode: str) -> str:
    """The join key: upper case, without the variation selector."""
    return "-".join(part for part in hexcode.upper().split("-") if part != "FE0F")


def _labels(emojibase: list[dict]) -> dict[str, str]:
    out = {}
    for row in emojibase:
        out[plain(row["hexcode"])] = row["label"]
        for skin in row.get("skins") or []:
            out[plain(skin["hexcode"])] = skin["label"]
    return out


def _tones(hexcode: str, base: str) -> tuple[int, ...]:
    """A variant's tones, each once ('people holding hands' of one tone carries its modifier
    twice); a base has none, even the five tone swatches that are modifiers themselves."""
    if hexcode == base:
        return ()
    return tuple(dict.fromkeys(TONE_OF_MODIFIER[p] for p in hexcode.split("-") if p in TONE_OF_MODIFIER))


def build_catalogue(datasource: list[dict], emojibase: list[dict]) -> list[Emoji]:
    """Every Google picture with its label, in the datasource's order; KeyError names a picture
    that emojibase has no label for (the pinned versions label all 3,786)."""
    labels = _labels(emojibase)
    out = []
    for row in datasource:
        if not row.get("has_img_google"):
            continue
        base = plain(row["unified"])
        variants = [(base, row["image"])] + [
            (plain(v["unified"]), v["image"]) for v in (row.get("skin_variations") or {}).values() if v.get("has_img_google")
        ]
        for hexcode, image in variants:
            if hexcode not in labels:
                raise KeyError(f"emojibase has no label for {hexcode} ({image})")
            out.append(Emoji(hexcode, image, labels[hexcode], row["category"].lower(), base, _tones(hexcode, base)))
    return out


def single_tone_families(catalogue: list[Emoji]) -> dict[str, dict[int | None, Emoji]]:
    """Base hexcode -> {None: the base, 1..5: its one-tone variants}, for bases with all five."""
    families: dict[str, dict[int | None, Emoji]] = {}
    for e in catalogue:
        if len(e.tones) <= 1:
            families.setdefault(e.base, {})[e.tones[0] if e.tones else None] = e
    return {b: f for b, f in families.items() if set(f) == {None, 1, 2, 3, 4, 5}}


def gender_trios(catalogue: list[Emoji]) -> list[dict[str, Emoji]]:
    """{'man': ..., 'woman': ..., 'person': ...} for each base whose label names a man and a woman
    ('man running', 'woman running', 'man: red hair') and that has a person form ('person
    running', 'person: red hair', or the bare 'technologist' beside 'man technologist'), and
    the plural trios ('men holding hands', 'women ...', 'people ...'): the bases, not their tones."""
    bases = {e.label: e for e in catalogue if not e.tones}
    trios = []
    for label, man in bases.items():
        for he, she, they in (("man", "woman", "person"), ("men", "women", "people")):
            if not (label.startswith(he + " ") or label.startswith(he + ":")):
                continue
            rest = label.removeprefix(he)
            woman = bases.get(she + rest)
            person = bases.get(they + rest) or bases.get(rest.lstrip(" "))
            if woman is not None and person is not None:
                trios.append({"man": man, "woman": woman, "person": person})
    return trios
