"""Draw requests: what people type when they ask for a picture, and what they mean by it.

A canonical caption or a paraphrase names every attribute of every object. People name what
they care about: 'draw a red circle', 'something small in the top left corner', 'two blue
squares on black'. A `Request` keeps what was named (an `ObjectSpec` per object, the background
or None) beside the text; every attribute it leaves unnamed is free. `satisfied_by` grades a
scene against it (an assignment of the scene's objects to the specs under which every named
attribute is right), and `fill` draws a scene that satisfies it, with the unnamed attributes
at random, so training pairs teach variety rather than one default.

`random_request(rng, held_out, group)` writes one request of a group of `REQUEST_GROUPS`. Some
phrasings (`HELD_OUT_PHRASINGS`, about one alternative in five of each kind) never appear in
training texts: with `held_out=True` a text uses exactly one of them, for the evaluator. The
named colour-shape pairs always come from a training scene. This grammar is separate from the
canonical caption and its parser, which it leaves untouched.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass

from .captions import BACKGROUND_WORDS, JOINERS, LEAD_INS, POSITION_WORDS, SCENE_TEMPLATES, SIZE_WORDS, join_list
from .words import alternatives, article
from .world import BACKGROUNDS, CELLS, COLOURS, MAX_OBJECTS, SHAPES, SIZES, TRAINING_PAIRS, Obj, Scene, random_scene

REQUEST_GROUPS: tuple[str, ...] = ("partial", "no positions", "positions", "count", "synonyms")
# partial: 1-3 objects, each naming a strict subset of shape, colour, size and cell ('something red')
# no positions: colour and shape named (size mostly), no cells ('a big red circle and a small blue square')
# positions: every object's cell named, the rest mostly ('a red circle top right and something blue in the middle')
# count: counted plurals, no cells ('two red circles', 'a red circle and two blue squares')
# synonyms: every attribute and the background named, in non-canonical words where there are any


@dataclass(frozen=True)
class Words:
    """The ways to say one thing: seen in training (the first is the canonical one) and held out."""

    seen: tuple[str, ...]
    held_out: tuple[str, ...] = ()


# ---------------------------------------------------------------- vocabulary

REQUEST_FORMS = Words(
    seen=LEAD_INS + ("make ", "i want ", "give me ", "please show me "),  # "" is the bare noun phrase
    held_out=("i'd like ", "could you draw ", "draw me "),  # "draw me" is also held out of chitchat
)
ASKING_FORMS: tuple[str, ...] = ("can you draw ", "could you draw ")  # may end with '?'
REQUEST_SIZE_WORDS: dict[str, Words] = {
    "small": Words(SIZE_WORDS["small"]),
    "large": Words(SIZE_WORDS["large"], held_out=("huge",)),
}
_EXTRA_POSITIONS: dict[tuple[int, int], tuple[str, ...]] = {  # relative words people type
    (0, 0): ("in the top left", "top left"),
    (0, 1): ("at the top center", "top center"),
    (0, 2): ("in the top right", "top right"),
    (1, 0): ("at the left",),
    (1, 1): ("in the middle of the picture",),
    (1, 2): ("at the right",),
    (2, 0): ("in the bottom left", "bottom left"),
    (2, 1): ("at the bottom center", "bottom center"),
    (2, 2): ("in the bottom right", "bottom right"),
}
# Held-out positions recombine seen words ('upper', 'lower', 'middle', 'at the'), so a model
# that composes them can follow; no seen phrase contains one of them.
_HELD_OUT_POSITIONS: dict[tuple[int, int], str] = {
    (0, 0): "at the upper left",
    (0, 1): "in the upper middle",
    (0, 2): "at the upper right",
    (1, 0): "in the middle left",
    (1, 1): "at the center",
    (1, 2): "in the middle right",
    (2, 0): "at the lower left",
    (2, 1): "in the lower middle",
    (2, 2): "at the lower right",
}
REQUEST_POSITION_WORDS: dict[tuple[int, int], Words] = {
    cell: Words(POSITION_WORDS[cell] + _EXTRA_POSITIONS[cell], (_HELD_OUT_POSITIONS[cell],)) for cell in CELLS
}
REQUEST_BACKGROUND_WORDS: dict[str, Words] = {bg: Words(words) for bg, words in BACKGROUND_WORDS.items()}
REQUEST_BACKGROUND_FORMS = Words(
    seen=SCENE_TEMPLATES + ("{objects} on {bg}",),
    held_out=("{objects} against {bg}",),
)
REQUEST_COUNT_WORDS: dict[int, Words] = {2: Words(("two", "2"), held_out=("a pair of",)), 3: Words(("three", "3"))}
SHAPELESS_NOUNS = Words(("shape", "object"), held_out=("thing",))  # plural: + "s"; also 'something red'

HELD_OUT_PHRASINGS: dict[str, tuple[str, ...]] = {  # kind -> literal phrases, as they appear in a text
    "request form": tuple(f.strip() for f in REQUEST_FORMS.held_out),
    "size": tuple(w for words in REQUEST_SIZE_WORDS.values() for w in words.held_out),
    "position": tuple(_HELD_OUT_POSITIONS.values()),
    "background form": tuple(
        t.format(objects="", bg=w).strip()
        for t in REQUEST_BACKGROUND_FORMS.held_out
        for words in BACKGROUND_WORDS.values()
        for w in words
    ),
    "count": REQUEST_COUNT_WORDS[2].held_out,
    "noun": SHAPELESS_NOUNS.held_out + tuple(n + "s" for n in SHAPELESS_NOUNS.held_out),
}
_HELD_OUT_RE = re.compile(rf"\b({alternatives(p for ps in HELD_OUT_PHRASINGS.values() for p in ps)})\b")


def held_out_phrasings_in(text: str) -> list[str]:
    """The held-out phrasings that `text` uses (case-insensitive, whole words)."""
    return _HELD_OUT_RE.findall(text.lower())


# ---------------------------------------------------------------- what a request means


@dataclass(frozen=True)
class ObjectSpec:
    """One requested object: each attribute named, or None when the request leaves it free."""

    shape: str | None = None
    colour: str | None = None
    size: str | None = None
    cell: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("shape", self.shape, SHAPES),
            ("colour", self.colour, tuple(COLOURS)),
            ("size", self.size, tuple(SIZES)),
            ("cell", self.cell, CELLS),
        ):
            if value is not None and value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; expected None or one of {allowed}")

    def matches(self, obj: Obj) -> bool:
        """Every named attribute is right for `obj`."""
        return all(
            want is None or want == got
            for want, got in ((self.shape, obj.shape), (self.colour, obj.colour), (self.size, obj.size), (self.cell, obj.cell))
        )


@dataclass(frozen=True)
class Request:
    """What a user asked for (`objects`, `background`) and how they said it (`text`)."""

    objects: tuple[ObjectSpec, ...]
    background: str | None
    text: str
    phrasing: str  # one of REQUEST_GROUPS
    held_out: bool  # whether `text` uses a held-out phrasing

    def __post_init__(self) -> None:
        if not 1 <= len(self.objects) <= MAX_OBJECTS:
            raise ValueError(f"a request asks for 1 to {MAX_OBJECTS} objects, got {len(self.objects)}")
        if not all(isinstance(o, ObjectSpec) for o in self.objects):
            raise TypeError("Request.objects must hold ObjectSpec instances")
        cells = [o.cell for o in self.objects if o.cell is not None]
        if len(set(cells)) != len(cells):
            raise ValueError(f"two requested objects share a cell: {cells}")
        if self.background is not None and self.background not in BACKGROUNDS:
            raise ValueError(f"unknown background {self.background!r}; expected None or one of {tuple(BACKGROUNDS)}")
        if self.phrasing not in REQUEST_GROUPS:
            raise ValueError(f"unknown phrasing {self.phrasing!r}; expected one of {REQUEST_GROUPS}")

    def satisfied_by(self, scene: Scene) -> bool:
        """The scene has exactly these objects (each spec matched to its own object) and background."""
        if len(scene.objects) != len(self.objects):
            return False
        if self.background is not None and scene.background != self.background:
            return False
        return any(
            all(spec.matches(obj) for spec, obj in zip(self.objects, order))
            for order in itertools.permutations(scene.objects)
        )

    def fill(self, rng: random.Random) -> Scene:
        """A scene that satisfies the request, every unnamed attribute drawn uniformly.

        Free cells are distinct from each other and from the named ones; sampling never makes a
        held-out colour-shape pair (only a spec that names both may ask for one).
        """
        named = {o.cell for o in self.objects if o.cell is not None}
        free = iter(rng.sample([c for c in CELLS if c not in named], sum(o.cell is None for o in self.objects)))
        objects = []
        for spec in self.objects:
            pairs = [
                (c, s)
                for c, s in TRAINING_PAIRS
                if spec.colour in (None, c) and spec.shape in (None, s)
            ] or [(spec.colour, spec.shape)]  # both named, and a held-out pair
            colour, shape = rng.choice(pairs)
            size = spec.size or rng.choice(tuple(SIZES))
            row, col = spec.cell if spec.cell is not None else next(free)
            objects.append(Obj(shape=shape, colour=colour, size=size, row=row, col=col))
        background = self.background or rng.choice(tuple(BACKGROUNDS))
        return Scene(background=background, objects=tuple(objects))


# ---------------------------------------------------------------- what is named, by group

_ATTRIBUTES = ("shape", "colour", "size", "cell")
Group = tuple[int, ObjectSpec]  # (count, spec): 'two red circles' is (2, red circle)


def _spec(obj: Obj, named: set[str]) -> ObjectSpec:
    return ObjectSpec(
        shape=obj.shape if "shape" in named else None,
        colour=obj.colour if "colour" in named else None,
        size=obj.size if "size" in named else None,
        cell=obj.cell if "cell" in named else None,
    )


def _named(rng: random.Random, p: dict[str, float]) -> set[str]:
    """Each attribute named with its probability (absent: never)."""
    return {a for a in _ATTRIBUTES if rng.random() < p.get(a, 0.0)}


def _background(rng: random.Random, scene: Scene, p: float = 0.5) -> str | None:
    return scene.background if rng.random() < p else None


def _partial(rng: random.Random) -> tuple[list[Group], str | None]:
    scene = random_scene(rng, n_objects=rng.choices((1, 2, 3), weights=(6, 3, 1))[0])
    groups = []
    for obj in scene.objects:
        named = _named(rng, dict.fromkeys(_ATTRIBUTES, 0.5))
        while len(named) == len(_ATTRIBUTES):  # uniform over the 15 strict subsets
            named = _named(rng, dict.fromkeys(_ATTRIBUTES, 0.5))
        groups.append((1, _spec(obj, named)))
    return groups, _background(rng, scene)


def _no_positions(rng: random.Random) -> tuple[list[Group], str | None]:
    scene = random_scene(rng, n_objects=rng.choices((1, 2, 3), weights=(2, 5, 3))[0])
    groups = [(1, _spec(o, _named(rng, {"shape": 1, "colour": 1, "size": 0.7}))) for o in scene.objects]
    return groups, _background(rng, scene)


def _positions(rng: random.Random) -> tuple[list[Group], str | None]:
    scene = random_scene(rng, n_objects=rng.choices((1, 2, 3), weights=(3, 4, 3))[0])
    p = {"shape": 0.75, "colour": 0.75, "size": 0.75, "cell": 1}
    return [(1, _spec(o, _named(rng, p))) for o in scene.objects], _background(rng, scene)


def _count(rng: random.Random) -> tuple[list[Group], str | None]:
    counts = rng.choice(((2,), (3,), (1, 2), (2, 1)))
    while True:  # two groups with the same spec would read 'a red circle and two red circles'
        scene = random_scene(rng, n_objects=len(counts))
        specs = [_spec(o, _named(rng, {"shape": 0.8, "colour": 0.7, "size": 0.4})) for o in scene.objects]
        if len(set(specs)) == len(specs):
            return list(zip(counts, specs)), _background(rng, scene)


def _synonyms(rng: random.Random) -> tuple[list[Group], str | None]:
    scene = random_scene(rng)
    return [(1, _spec(o, set(_ATTRIBUTES))) for o in scene.objects], scene.background


_GROUP_SPECS = {
    "partial": _partial,
    "no positions": _no_positions,
    "positions": _positions,
    "count": _count,
    "synonyms": _synonyms,
}


# ---------------------------------------------------------------- how it is said

Slot = tuple  # ("form",), ("background form",), or (kind, group index) for size, position, count, noun


def _held_out_slots(groups: list[Group], background: str | None) -> dict[str, list[Slot]]:
    """Where a held-out phrasing could go, by kind (only where the value has one)."""
    slots: dict[str, list[Slot]] = {"request form": [("form",)]}
    if background is not None:
        slots["background form"] = [("background form",)]
    for i, (count, spec) in enumerate(groups):
        if spec.size is not None and REQUEST_SIZE_WORDS[spec.size].held_out:
            slots.setdefault("size", []).append(("size", i))
        if spec.cell is not None:
            slots.setdefault("position", []).append(("position", i))
        if REQUEST_COUNT_WORDS.get(count, Words(())).held_out:
            slots.setdefault("count", []).append(("count", i))
        if spec.shape is None:
            slots.setdefault("noun", []).append(("noun", i))
    return slots


class _Phraser:
    """Writes a request's text; the one `forced` slot (if any) takes a held-out phrasing."""

    def __init__(self, rng: random.Random, forced: Slot | None, synonyms: bool):
        self.rng, self.forced, self.synonyms = rng, forced, synonyms

    def pick(self, words: Words, slot: Slot | None = None, synonym: bool = False) -> str:
        if slot is not None and slot == self.forced:
            return self.rng.choice(words.held_out)
        options = words.seen[1:] if synonym and self.synonyms and len(words.seen) > 1 else words.seen
        return self.rng.choice(options)

    def determiner(self, rest: str) -> str:
        return "one" if self.rng.random() < 0.15 else article(rest)

    def single(self, i: int, size: str | None, colour: str | None, shape: str | None) -> str:
        rng = self.rng
        adjectives = [a for a in (size, colour) if a]
        if shape is not None:
            forms, weights = [" ".join(adjectives + [shape])], [4]  # 'big red circle'
            if colour:
                forms.append(" ".join([a for a in (size, shape) if a]) + f" in {colour}")  # 'big circle in red'
                weights.append(1)
            if size and colour:
                forms.append(f"{colour} {size} {shape}")  # 'red big circle'
                weights.append(1)
            body = rng.choices(forms, weights=weights)[0]
            return f"{self.determiner(body)} {body}"
        if self.forced == ("noun", i) or rng.random() < 0.5:
            body = " ".join(adjectives + [self.pick(SHAPELESS_NOUNS, ("noun", i))])  # 'red shape'
            return f"{self.determiner(body)} {body}"
        rng.shuffle(adjectives)
        return " ".join(["something"] + ([" and ".join(adjectives)] if adjectives else []))  # 'something small and red'

    def counted(self, i: int, count: int, size: str | None, colour: str | None, shape: str | None) -> str:
        number = self.pick(REQUEST_COUNT_WORDS[count], ("count", i))
        noun = (shape or self.pick(SHAPELESS_NOUNS, ("noun", i))) + "s"
        if colour and self.rng.random() < 0.25:
            return " ".join([number] + [a for a in (size, noun) if a]) + f" in {colour}"  # 'two circles in red'
        return " ".join([number] + [a for a in (size, colour, noun) if a])  # 'two small red circles'

    def group(self, i: int, count: int, spec: ObjectSpec) -> str:
        size = self.pick(REQUEST_SIZE_WORDS[spec.size], ("size", i), synonym=True) if spec.size else None
        if count == 1:
            phrase = self.single(i, size, spec.colour, spec.shape)
        else:
            phrase = self.counted(i, count, size, spec.colour, spec.shape)
        if spec.cell is None:
            return phrase
        position = self.pick(REQUEST_POSITION_WORDS[spec.cell], ("position", i), synonym=True)
        if position.split()[0] in ("in", "at", "on") and self.rng.random() < 0.2:
            return f"{position} {phrase}"  # 'in the top left corner a red circle'
        return f"{phrase} {position}"

    def request(self, groups: list[Group], background: str | None) -> str:
        rng = self.rng
        phrases = [self.group(i, count, spec) for i, (count, spec) in enumerate(groups)]
        text = join_list(phrases, *rng.choice(JOINERS))
        if background is not None:
            form = self.pick(REQUEST_BACKGROUND_FORMS, ("background form",), synonym=True)
            text = form.format(objects=text, bg=self.pick(REQUEST_BACKGROUND_WORDS[background], synonym=True))
        form = self.pick(REQUEST_FORMS, ("form",))
        text = form + text
        if form in ASKING_FORMS and rng.random() < 0.5:
            text += "?"
        elif rng.random() < 0.15:
            text += "."
        if rng.random() < 0.15:
            text = text[0].upper() + text[1:]
        return text


def random_request(rng: random.Random, held_out: bool = False, group: str | None = None) -> Request:
    """A random draw request of `group` (uniform over REQUEST_GROUPS when None).

    With `held_out=False` (training) the text uses no held-out phrasing; with `held_out=True`
    it uses exactly one, of a kind drawn uniformly among those the request has room for.
    """
    if group is None:
        group = rng.choice(REQUEST_GROUPS)
    if group not in _GROUP_SPECS:
        raise ValueError(f"unknown request group {group!r}; expected one of {REQUEST_GROUPS}")
    groups, background = _GROUP_SPECS[group](rng)
    if rng.random() < 0.5:
        rng.shuffle(groups)  # the order of mention carries no meaning
    forced = None
    if held_out:
        slots = _held_out_slots(groups, background)
        forced = rng.choice(slots[rng.choice(sorted(slots))])
    text = _Phraser(rng, forced, synonyms=group == "synonyms").request(groups, background)
    objects = tuple(spec for count, spec in groups for _ in range(count))
    return Request(objects=objects, background=background, text=text, phrasing=group, held_out=held_out)
