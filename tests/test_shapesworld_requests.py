"""Draw requests: what they name, that fill() satisfies them, how satisfied_by grades, held-out phrasings."""

import random
import re
from collections import Counter

import pytest

from transfusion.shapesworld.requests import (
    HELD_OUT_PHRASINGS,
    REQUEST_BACKGROUND_FORMS,
    REQUEST_BACKGROUND_WORDS,
    REQUEST_FORMS,
    REQUEST_GROUPS,
    REQUEST_POSITION_WORDS,
    REQUEST_SIZE_WORDS,
    ObjectSpec,
    Request,
    held_out_phrasings_in,
    random_request,
)
from transfusion.shapesworld.world import BACKGROUNDS, CELLS, COLOURS, HELD_OUT_PAIRS, SHAPES, SIZES, Obj, Scene

HELD_OUT_RES = {p: re.compile(rf"\b{re.escape(p)}\b") for ps in HELD_OUT_PHRASINGS.values() for p in ps}
POSITION_RE = re.compile(r"\b(top|bottom|left|right|middle|center|centre|upper|lower)\b")
SIZE_RE = re.compile(r"\b(" + "|".join(w for ws in REQUEST_SIZE_WORDS.values() for w in ws.seen + ws.held_out) + r")\b")
BACKGROUND_RE = re.compile(r"\b(white|black|gray|grey)\b")


def held_out_in(text: str) -> list[str]:
    return [p for p, r in HELD_OUT_RES.items() if r.search(text.lower())]


def requests(n: int, held_out: bool, group: str | None = None, seed: int = 0) -> list[Request]:
    rng = random.Random(f"test:{seed}:{held_out}:{group}")
    return [random_request(rng, held_out, group) for _ in range(n)]


def spec(shape=None, colour=None, size=None, cell=None) -> ObjectSpec:
    return ObjectSpec(shape=shape, colour=colour, size=size, cell=cell)


def request(*objects: ObjectSpec, background: str | None = None) -> Request:
    return Request(objects=objects, background=background, text="", phrasing="partial", held_out=False)


# ---------------------------------------------------------------- what random_request writes


@pytest.mark.parametrize("group", REQUEST_GROUPS)
@pytest.mark.parametrize("held_out", [False, True])
def test_every_group_writes_varied_texts(group, held_out):
    rs = requests(300, held_out, group)
    assert all(r.phrasing == group and r.held_out == held_out for r in rs)
    assert all(r.text and r.text == r.text.strip() and "  " not in r.text for r in rs)
    assert len({r.text for r in rs}) > 250
    assert all(len(r.text.split()) <= 40 for r in rs)  # a few dozen words at most


def test_groups_are_drawn_uniformly_when_not_named():
    rng = random.Random(1)
    counts = Counter(random_request(rng).phrasing for _ in range(1000))
    assert set(counts) == set(REQUEST_GROUPS) and min(counts.values()) > 150


def test_requests_are_a_pure_function_of_the_rng_state():
    for group in (None,) + REQUEST_GROUPS:
        for held_out in (False, True):
            a = [random_request(random.Random(s), held_out, group) for s in range(50)]
            b = [random_request(random.Random(s), held_out, group) for s in range(50)]
            assert a == b


def test_what_each_group_names():
    for r in requests(300, False, "partial"):
        assert all(None in (o.shape, o.colour, o.size, o.cell) for o in r.objects)
    for r in requests(300, False, "no positions"):
        assert all(o.cell is None and o.shape and o.colour for o in r.objects)
    for r in requests(300, False, "positions"):
        assert all(o.cell is not None for o in r.objects)
    for r in requests(300, False, "synonyms"):
        assert r.background and all(None not in (o.shape, o.colour, o.size, o.cell) for o in r.objects)
    for r in requests(300, False, "count"):
        assert 2 <= len(r.objects) <= 3 and len(set(r.objects)) < len(r.objects)  # some spec repeats
        assert all(o.cell is None for o in r.objects)


def test_texts_say_what_is_named_and_nothing_else():
    for r in requests(1500, False) + requests(500, True):
        text = r.text.lower()
        for o in r.objects:
            if o.colour:
                assert re.search(rf"\b{o.colour}\b", text), r
            if o.shape:
                assert re.search(rf"\b{o.shape}s?\b", text), r
            if o.cell is not None:
                words = REQUEST_POSITION_WORDS[o.cell]
                assert any(re.search(rf"\b{p}\b", text) for p in words.seen + words.held_out), r
        said = set(r.objects) if r.phrasing == "count" else r.objects  # a counted group is said once
        mentioned_shapes = sum(len(re.findall(rf"\b{s}s?\b", text)) for s in SHAPES)
        assert mentioned_shapes == len([o for o in said if o.shape]), r
        assert len(SIZE_RE.findall(text)) == len([o for o in said if o.size]), r
        mentioned_colours = sum(len(re.findall(rf"\b{c}\b", text)) for c in COLOURS)
        assert mentioned_colours == len([o for o in said if o.colour]), r
        if all(o.cell is None for o in r.objects):
            assert not POSITION_RE.search(text), r
        assert bool(BACKGROUND_RE.search(text)) == (r.background is not None), r


def test_named_colour_shape_pairs_are_training_pairs():
    for r in requests(2000, False) + requests(1000, True):
        assert not any((o.colour, o.shape) in HELD_OUT_PAIRS for o in r.objects), r


def test_requests_never_ask_two_objects_to_share_a_cell():
    for r in requests(2000, False, "positions") + requests(1000, False, "synonyms"):
        cells = [o.cell for o in r.objects if o.cell is not None]
        assert len(cells) == len(set(cells))
    with pytest.raises(ValueError, match="share a cell"):
        request(spec(cell=(0, 0)), spec(colour="red", cell=(0, 0)))


# ---------------------------------------------------------------- held-out phrasings


def test_training_texts_never_use_a_held_out_phrasing():
    for r in requests(5000, False):
        assert held_out_in(r.text) == [], r.text
        assert held_out_phrasings_in(r.text) == []


def test_held_out_texts_use_exactly_one_and_every_kind_occurs():
    used = Counter()
    for r in requests(3000, True):
        found = held_out_in(r.text)
        assert len(found) == 1, r.text
        assert held_out_phrasings_in(r.text) == found
        used.update(found)
    kinds = {kind for kind, ps in HELD_OUT_PHRASINGS.items() if any(used[p] for p in ps)}
    assert kinds == set(HELD_OUT_PHRASINGS)
    assert all(used[p] for p in HELD_OUT_PHRASINGS["position"])  # every cell's held-out phrase
    assert all(used[p] for p in HELD_OUT_PHRASINGS["request form"])


def test_seen_phrasings_alone_say_every_value_and_never_contain_a_held_out_one():
    assert set(REQUEST_SIZE_WORDS) == set(SIZES) and all(w.seen for w in REQUEST_SIZE_WORDS.values())
    assert set(REQUEST_POSITION_WORDS) == set(CELLS) and all(w.seen for w in REQUEST_POSITION_WORDS.values())
    assert set(REQUEST_BACKGROUND_WORDS) == set(BACKGROUNDS)
    assert all(w.seen for w in REQUEST_BACKGROUND_WORDS.values()) and REQUEST_BACKGROUND_FORMS.seen
    seen = (
        [f for f in REQUEST_FORMS.seen]
        + [w for ws in REQUEST_SIZE_WORDS.values() for w in ws.seen]
        + [p for ws in REQUEST_POSITION_WORDS.values() for p in ws.seen]
        + [t.format(objects="a red circle", bg=b) for t in REQUEST_BACKGROUND_FORMS.seen for b in ("white", "grey")]
    )
    for phrase in seen:
        assert held_out_in(phrase) == [], phrase
    # each cell's phrases are its own: no phrase of one cell is a phrase of another
    all_phrases = [p for ws in REQUEST_POSITION_WORDS.values() for p in ws.seen + ws.held_out]
    assert len(all_phrases) == len(set(all_phrases))


# ---------------------------------------------------------------- fill and satisfied_by


def test_fill_satisfies_its_request():
    rng = random.Random(5)
    for r in requests(600, False) + requests(300, True):
        for _ in range(2):
            scene = r.fill(rng)
            assert r.satisfied_by(scene), (r, scene)
            assert not scene.has_held_out, (r, scene)  # never introduced by sampling


def test_fill_varies_what_is_not_named():
    rng = random.Random(6)
    red_circle = request(spec(shape="circle", colour="red"))
    scenes = [red_circle.fill(rng) for _ in range(300)]
    assert all(red_circle.satisfied_by(s) for s in scenes)
    assert {s.objects[0].size for s in scenes} == set(SIZES)
    assert {s.objects[0].cell for s in scenes} == set(CELLS)
    assert {s.background for s in scenes} == set(BACKGROUNDS)

    something = request(spec(), spec(), background="black")
    scenes = [something.fill(rng) for _ in range(300)]
    assert {o.shape for s in scenes for o in s.objects} == set(SHAPES)
    assert {o.colour for s in scenes for o in s.objects} == set(COLOURS)
    assert {s.background for s in scenes} == {"black"}


def test_fill_never_samples_a_held_out_pair_but_keeps_a_named_one():
    rng = random.Random(7)
    purple = request(spec(colour="purple"))  # purple triangle is held out
    shapes = Counter(purple.fill(rng).objects[0].shape for _ in range(400))
    assert set(shapes) == set(SHAPES) - {"triangle"}
    named = request(spec(shape="triangle", colour="purple", cell=(1, 1)))
    assert all(named.fill(rng).objects[0].pair == ("purple", "triangle") for _ in range(20))


def test_counts_fill_to_distinct_cells():
    rng = random.Random(8)
    two_red_circles = request(spec(shape="circle", colour="red"), spec(shape="circle", colour="red"))
    for _ in range(200):
        scene = two_red_circles.fill(rng)
        assert [o.pair for o in scene.objects] == [("red", "circle")] * 2
        assert scene.objects[0].cell != scene.objects[1].cell
    # around named cells too: a free object never lands on a named one
    mixed = request(spec(colour="red", cell=(1, 1)), spec(), spec())
    assert all(mixed.fill(rng).at(1, 1).colour == "red" for _ in range(200))


def test_count_texts_fill_to_their_counts():
    rng = random.Random(9)
    for r in requests(500, False, "count"):
        text = r.text.lower()
        scene = r.fill(rng)
        assert r.satisfied_by(scene)
        if re.search(r"\b(two|2)\b", text) and not re.search(r"\b(three|3)\b", text):
            assert Counter(r.objects).most_common(1)[0][1] == 2
        if re.search(r"\b(three|3)\b", text):
            assert len(r.objects) == 3 and len(set(r.objects)) == 1


SCENE = Scene(
    "white",
    (Obj("circle", "red", "large", 0, 0), Obj("square", "blue", "small", 1, 1)),
)


def test_satisfied_by_matches_objects_in_any_order():
    assert request(spec(shape="square"), spec(colour="red")).satisfied_by(SCENE)
    assert request(spec(colour="red", size="large", cell=(0, 0)), spec()).satisfied_by(SCENE)
    assert request(spec(), spec(), background="white").satisfied_by(SCENE)
    # 'a red shape and a shape in the top left': only the red circle fits the first, but then
    # the blue square must be in the top left: no assignment works
    assert not request(spec(colour="red"), spec(cell=(0, 0))).satisfied_by(SCENE)


@pytest.mark.parametrize(
    "objects, background",
    [
        ((spec(shape="circle", colour="red"), spec(shape="square", colour="green")), None),  # wrong colour
        ((spec(shape="triangle"), spec()), None),  # wrong shape
        ((spec(colour="blue", size="large"), spec()), None),  # wrong size
        ((spec(colour="blue", cell=(2, 2)), spec()), None),  # wrong cell
        ((spec(shape="circle"), spec(shape="circle")), None),  # two circles asked, one there
        ((spec(shape="circle"),), None),  # too many objects in the scene
        ((spec(), spec(), spec()), None),  # too few
        ((spec(), spec()), "black"),  # wrong background
        ((spec(), spec()), "gray"),
    ],
)
def test_satisfied_by_refuses_a_wrong_scene(objects, background):
    assert not request(*objects, background=background).satisfied_by(SCENE)


def test_bad_requests_are_refused():
    with pytest.raises(ValueError, match="1 to 3"):
        request()
    with pytest.raises(ValueError, match="1 to 3"):
        request(spec(), spec(), spec(), spec())
    with pytest.raises(ValueError, match="unknown colour"):
        spec(colour="magenta")
    with pytest.raises(ValueError, match="unknown cell"):
        spec(cell=(3, 0))
    with pytest.raises(ValueError, match="unknown background"):
        request(spec(), background="grey")
    with pytest.raises(ValueError, match="unknown phrasing"):
        Request((spec(),), None, "draw something", "nonsense", False)
    with pytest.raises(ValueError, match="unknown request group"):
        random_request(random.Random(0), group="nonsense")
