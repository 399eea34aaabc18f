"""The folder format with edits, questions and held-out pictures: reading, training documents,
retrieval and the folder evaluator (oracle 100 %, random at chance), on a few fixture pictures."""

import json
import random
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image, ImageFilter

from folder_helpers import COLOURS, picture, write_fixture
from transfusion.folder.evaluate import FolderOracle, FolderRandom, build_folder_cases, format_folder_table, only, score_folder
from transfusion.folder.format import Entry, read_folder
from transfusion.folder.retrieval import Catalogue
from transfusion.folder.source import FolderSource, epoch_multiplicity, load_picture

@pytest.fixture
def folder(tmp_path):
    return write_fixture(tmp_path / "world")


def test_a_folder_reads_with_its_edits_questions_and_held_out(folder):
    f = read_folder(folder)
    assert len(f.entries) == 9 and len(f.edits) == 18 and len(f.questions) == 9
    assert f.held_out == {(folder / "pics/green-bar.png").resolve()}
    train = f.training()
    assert len(train.entries) == 8 and len(train.questions) == 8
    assert len(train.edits) == 18 - 4  # the two edits into and the two out of the green bar
    assert {e.kind for e in f.edits} == {"recolour"} and f.entries[0].attributes == {"shape": "disc", "colour": "red"}


@pytest.mark.parametrize("file, line, message", [
    ("captions.jsonl", '{"image": "../x.png", "caption": "x"}', "outside"),
    ("captions.jsonl", '{"image": "pics/red-disc.png"}', "needs 'image' and 'caption'"),
    ("captions.jsonl", '{"image": "pics/red-disc.png", "caption": "again"}', "listed twice"),
    ("captions.jsonl", "not json", "not a JSON line"),
    ("edits.jsonl", '{"source": "pics/red-disc.png", "instruction": "x", "target": "pics/nowhere.png"}', "not in captions.jsonl"),
    ("questions.jsonl", '{"image": "pics/red-disc.png", "question": "q?", "answer": ""}', "'answer' must be a non-empty"),
    ("held_out.txt", "pics/unlisted.png", "not in captions.jsonl"),
    ("edits.jsonl", '{"source": "pics/red-disc.png", "instruction": "x", "target": "pics/red-bar.png", "kind": "held out"}',
     "the evaluator's own row"),
])
def test_a_bad_line_is_refused_with_its_place(folder, file, line, message):
    path = folder / file
    path.write_text(path.read_text() + line + "\n")
    with pytest.raises(ValueError, match=message) as e:
        read_folder(folder)
    assert file in str(e.value)


def test_no_training_document_shows_a_held_out_picture(folder):
    source = FolderSource(folder, seed=3)
    held = load_picture((folder / "pics/green-bar.png").resolve()).tobytes()
    tasks = set()
    for i in range(400):
        doc = source.document(i)
        pictures = [p for m in doc for p in m["content"] if isinstance(p, Image.Image)]
        texts = [p for m in doc for p in m["content"] if isinstance(p, str)]
        assert all(p.tobytes() != held for p in pictures) and not any("green bar" in t for t in texts)
        tasks.add((len(doc), len(pictures), doc[-1]["content"][-1].__class__.__name__))
        assert source.document(i) == doc  # a pure function of the index
    # text -> picture, picture -> caption, question, edit (picture -> picture), and the two-turn chat
    assert tasks == {(2, 1, "Image"), (2, 1, "str"), (2, 2, "Image"), (4, 2, "Image")}
    assert all(source.image(i).tobytes() != held for i in range(40))
    corpus = source.text_corpus()
    assert "make it blue" in corpus and "what colour is it?" in corpus and "green bar" not in corpus
    assert source.text_corpus(3) == corpus[:3] and "make it blue" in source.text_corpus(len(corpus) - 20)  # the few first
    prompts = source.sample_prompts()
    assert 1 <= len(prompts) <= 8 and set(prompts) <= {e.caption for e in source.data.entries}


def test_a_folder_mixture_is_checked(folder):
    with pytest.raises(ValueError, match="unknown folder tasks"):
        FolderSource(folder, mixture={"requests": 1.0})
    (folder / "edits.jsonl").unlink()
    with pytest.raises(ValueError, match="no rows for"):
        FolderSource(folder, mixture={"edit": 0.5})
    only = FolderSource(folder, mixture={"text_to_image": 0, "image_to_text": 0, "chat": 0, "question": 1})
    assert all(len(only.document(i)) == 2 and isinstance(only.document(i)[1]["content"][0], str) for i in range(20))


def test_balanced_by_an_attribute_each_value_shares_its_turns_in_the_epoch():
    def entries(*values):
        return tuple(Entry(Path(f"/p{i}.png"), f"c{i}", (), {"figure": v} if v else {}) for i, v in enumerate(values))

    # groups of 4, 2 and 1, and one picture without the attribute: each group 4 times an epoch
    assert epoch_multiplicity(entries("a", "a", "a", "a", "b", "b", "c", None), "figure") == [1, 1, 1, 1, 2, 2, 4, 4]
    assert epoch_multiplicity(entries("a", "b", None), None) == [1, 1, 1]  # unbalanced: each picture once
    assert epoch_multiplicity(entries("a", "a", "a", "b", "b"), "figure") == [1, 1, 1, 2, 2]  # 4 against 3: rounded
    with pytest.raises(ValueError, match="no picture has the attribute 'emoji'"):
        epoch_multiplicity(entries("a", None), "emoji")


def test_a_folder_balanced_by_figure_draws_each_figure_equally_often(folder):
    rows = [json.loads(line) for line in (folder / "captions.jsonl").read_text().splitlines()]
    for r in rows:  # the discs are one figure in three colours; every other picture is one of a kind
        r["attributes"] = {"figure": "disc"} if r["attributes"]["shape"] == "disc" else {}
    (folder / "captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    draw_only = {"text_to_image": 1, "image_to_text": 0, "question": 0, "edit": 0, "chat": 0}

    def drawn(source, n):
        counts = Counter()
        for i in range(n):
            doc = source.document(i)
            assert source.document(i) == doc  # still a pure function of the index
            counts[doc[0]["content"][0].removeprefix("draw a ")] += 1
        return counts

    plain = FolderSource(folder, seed=2, mixture=draw_only)
    assert drawn(plain, 8) == Counter({e.caption: 1 for e in plain.data.entries})  # 8 training pictures, once each
    balanced = FolderSource(folder, seed=2, mixture=draw_only, balance_by="figure")
    # an epoch of 3 + 5 x 3 slots: the three discs together as often as each one-of-a-kind picture
    counts = drawn(balanced, 18)
    assert {c: n for c, n in counts.items() if "disc" in c} == {"red disc": 1, "blue disc": 1, "green disc": 1}
    assert {n for c, n in counts.items() if "disc" not in c} == {3} and len(counts) == 8
    with pytest.raises(ValueError, match="no picture has the attribute 'tone'"):
        FolderSource(folder, balance_by="tone")


def test_a_drawing_after_a_request_sometimes_says_what_it_drew_first(folder):
    source = FolderSource(folder, seed=1, mixture={"text_to_image": 1, "image_to_text": 0, "question": 0, "edit": 0, "chat": 0})
    by_caption = {e.caption: e for e in source.data.entries}
    said = {"request": 0, "caption": 0}
    for i in range(200):
        user, assistant = source.document(i)
        prompt = user["content"][0]
        caption = prompt.removeprefix("draw a ")
        kind = "caption" if prompt in by_caption else "request"
        *words, picture = assistant["content"]
        assert isinstance(picture, Image.Image)
        assert words in ([], [f"here is {by_caption[caption].caption}"])
        said[kind] += bool(words)
    assert said["caption"] == 0  # a bare caption conditions a bare picture
    assert 20 <= said["request"] <= 80  # about half of the ~100 requests


def test_retrieval_finds_each_picture_clean_and_blurred_and_matches_its_reference(folder):
    catalogue = Catalogue(read_folder(folder).entries)
    assert catalogue.self_check() == []
    rng = random.Random(0)
    for _ in range(20):
        e = rng.choice(catalogue.entries)
        noisy = load_picture(e.image).filter(ImageFilter.GaussianBlur(rng.uniform(0, 2)))
        noisy = noisy.rotate(rng.uniform(-20, 20), fillcolor="white")
        assert catalogue.nearest(noisy) == catalogue.nearest_reference(noisy)


def test_pixel_identical_pictures_retrieve_each_other(folder):
    picture(COLOURS["red"], "disc").save(folder / "pics/twin.png")
    with open(folder / "captions.jsonl", "a") as f:
        f.write(json.dumps({"image": "pics/twin.png", "caption": "red disc twin"}) + "\n")
    catalogue = Catalogue(read_folder(folder).entries)
    twin, red = catalogue.index[(folder / "pics/twin.png").resolve()], catalogue.index[(folder / "pics/red-disc.png").resolve()]
    assert catalogue.same[twin] == catalogue.same[red] == {twin, red}
    assert catalogue.retrieves(load_picture((folder / "pics/twin.png").resolve()), red)


def test_the_oracle_scores_100_and_random_guesses_score_near_chance(folder):
    f = read_folder(folder)
    cases = build_folder_cases(f, 6, seed=1)
    assert len(cases.draw) == 6 and len(cases.draw_held_out) == 1 and {r for r, _ in cases.edit} == {"recolour", "held out"}
    oracle = score_folder(FolderOracle(f), f, cases, seed=1)
    tallies = [oracle["draw"]["exact"], oracle["draw, held out"]["exact"], oracle["caption"], oracle["chat"],
               *oracle["question"].values(), *(d["exact"] for d in oracle["edit"].values()), oracle["draw"]["colour"]]
    assert all(t["accuracy"] == 1.0 and t["total"] > 0 for t in tallies), tallies
    assert all(m == [] for m in oracle["misses"].values()) and "draw" in oracle["misses"]
    big = build_folder_cases(f, 200, seed=1)  # every row it has
    guess = score_folder(FolderRandom(f, seed=2), f, big, seed=1)
    assert guess["draw"]["exact"]["accuracy"] < 0.4 and guess["caption"]["accuracy"] < 0.4
    assert guess["draw"]["colour"]["accuracy"] < 0.7  # 1 in 3 by chance
    missed = guess["misses"]["draw"]
    assert len(missed) == guess["draw"]["exact"]["total"] - guess["draw"]["exact"]["correct"]
    captions = {e.caption for e in f.entries}
    assert all(m["expected"] in captions and m["drawn"] in captions and m["drawn"] != m["expected"] for m in missed)


def test_drawings_of_one_of_a_kind_pictures_are_also_scored_apart(folder):
    f = read_folder(folder)
    every = build_folder_cases(f, 200, seed=1)
    assert "exact when" not in score_folder(FolderOracle(f), f, every, seed=1)["draw"]  # each shape is in 3 pictures
    Image.new("RGB", (32, 32), (120, 40, 160)).save(folder / "pics/purple.png")
    with open(folder / "captions.jsonl", "a") as file:
        file.write(json.dumps({"image": "pics/purple.png", "caption": "purple", "attributes": {"colour": "purple"}}) + "\n")
    f = read_folder(folder)
    cases = only(build_folder_cases(f, 200, seed=1), ["draw"])
    oracle = score_folder(FolderOracle(f), f, cases, seed=1)["draw"]["exact when"]
    assert oracle.keys() == {"colour in one picture", "colour in several pictures"}  # no shape of one picture: no split
    assert oracle["colour in one picture"]["total"] == 1 and oracle["colour in several pictures"]["total"] == 8
    assert all(t["accuracy"] == 1.0 for t in oracle.values())
    guess = score_folder(FolderRandom(f, seed=2), f, cases, seed=1)
    parts = guess["draw"]["exact when"].values()
    assert sum(t["correct"] for t in parts) == guess["draw"]["exact"]["correct"]
    table = format_folder_table({**guess, "data": "d", "cases per group": 200, "seed": 1})
    assert "| draw | exact entry, colour in one picture |" in table and "| draw | exact entry, colour in several pictures |" in table


def test_only_the_groups_asked_for_are_scored_and_tabled(folder):
    f = read_folder(folder)
    cases = only(build_folder_cases(f, 6, seed=1), ["draw", "chat"])
    assert cases.caption == cases.question == cases.edit == cases.draw_held_out == () and cases.draw and cases.chat
    results = score_folder(FolderOracle(f), f, cases, seed=1)
    assert set(results) == {"draw", "chat", "misses"} and results["misses"] == {"draw": []}
    table = format_folder_table({**results, "data": "d", "cases per group": 6, "seed": 1})
    assert "| draw | exact entry | 100.0 %" in table and "| chat |" in table
    assert "| caption" not in table and "| question" not in table and "| edit" not in table
    with pytest.raises(ValueError, match="no such group: captions"):
        only(cases, ["captions"])


def test_draw_examples_are_prompts_the_model_draws_right_at_every_seed(tmp_path):
    from transfusion.folder.app import write_world_card
    from transfusion.folder.examples import SEEDS, checked_draw_examples, main, rewrite_card

    root = write_fixture(tmp_path / "colours")
    folder = read_folder(root)

    class Picky:  # discs right; squares right but at the last seed; bars drawn as a red disc
        def text_to_image(self, prompts, seed=0):
            out = []
            for prompt in prompts:
                colour, shape = prompt.removeprefix("draw a ").split()
                right = shape == "disc" or (shape == "square" and seed != SEEDS[-1])
                out.append(picture(COLOURS[colour], shape) if right else picture(COLOURS["red"], "disc"))
            return out

    draw, tried = checked_draw_examples(Picky(), folder, n=6)
    assert tried == 8  # every training entry (one of the 9 is held out), as too few were right
    assert sorted(draw) == sorted(p for p in draw if p.endswith("disc")) and len(draw) == 3
    draw_two, tried_two = checked_draw_examples(Picky(), folder, n=2)
    assert len(draw_two) == 2 and tried_two < 8  # stops once it has enough
    model = tmp_path / "model"
    model.mkdir()
    write_world_card(folder, model)
    (root / "about.md").write_text("## What the model knows: colour bars\n")
    rewrite_card(model, folder, draw)
    card = json.loads((model / "world.json").read_text())
    assert card["draw"] == draw and card["about"].startswith("## What the model knows: colour bars")
    with pytest.raises(SystemExit, match="no world.json"):
        main(["--model", str(tmp_path), "--data", str(root)])
