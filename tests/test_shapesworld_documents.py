"""The document stream: its format, determinism, mixture, speed, truth and held-out pairs."""

import itertools
import re
from collections import Counter

import pytest
from PIL import Image

from transfusion.config import TransfusionConfig
from transfusion.shapesworld.analyse import analyse
from transfusion.shapesworld.captions import canonical_caption, parse_caption
from transfusion.shapesworld.documents import (
    DEFAULT_MIXTURE,
    TASKS,
    document,
    images,
    stream,
    task_of,
    text_corpus,
    texts,
)
from transfusion.shapesworld.edits import parse_edit
from transfusion.shapesworld.questions import answer, question_form
from transfusion.shapesworld.chitchat import HELD_OUT_MESSAGES, is_good_reply
from transfusion.shapesworld.edit_phrasings import is_held_out_phrasing as edit_held_out
from transfusion.shapesworld.more_questions import (
    EVIDENCE_FORMS,
    NEW_ANSWER_WORDS,
    answer_new,
    evidence_of,
    new_question_form,
    new_questions_for,
    object_answer,
    read_in_words,
    verdict_of,
)
from transfusion.shapesworld.more_questions import is_held_out_phrasing as question_held_out
from transfusion.shapesworld.questions import ANSWER_WORDS
from transfusion.shapesworld.requests import held_out_phrasings_in
from transfusion.shapesworld.world import HELD_OUT_PAIRS

N_DOCUMENTS = 20_000
HELD_OUT_TEXT = [
    re.compile(rf"\b{c} {s}\b|\b{s} in {c}\b|what color is the {s}\?\s*{c}\b")
    for c, s in HELD_OUT_PAIRS
]


def evidences_of(scene) -> set[str]:
    """Every evidence a yes/no or count answer about the scene may say (any asked thing)."""
    return {evidence_of(q.answer) for q in new_questions_for(scene, allow_held_out=True) if q.form in EVIDENCE_FORMS}


def check_truth(doc) -> None:
    """Every statement in the document is true of the images it talks about.

    Walks the chat keeping the scene of the last image (analysed, so the images are checked
    too): captions, answers, edits and 'here is ...' sentences must all match it.
    """
    last = None  # scene of the last image so far
    pending = None  # what the next image must show
    asked = None  # the last canonical question
    for turn in doc:
        for part in turn["content"]:
            if isinstance(part, Image.Image):
                scene = analyse(part)
                assert not scene.has_held_out
                if pending is not None:
                    assert scene == pending
                pending, last = None, scene
                continue
            text = part
            if turn["role"] == "user" and read_in_words(text) is not None:
                last = parse_caption(read_in_words(text)[0])  # a scene said in words stands for its picture
                assert not last.has_held_out
                continue
            if turn["role"] == "user":
                body = text.removeprefix("now ")
                if body.startswith("draw ") and _is_canonical(body[5:]):
                    pending = parse_caption(body[5:])
                elif _is_canonical(body):
                    pending = parse_caption(body)
                elif last is not None and _is_edit(body, last):
                    pending = parse_edit(body, last).apply(last)
                asked = body if last is not None and _is_question(body) else None
                continue
            # assistant text
            if text.startswith("here is "):
                drawn = parse_caption(text.removeprefix("here is "))
                assert pending is None or drawn == pending
                pending = drawn
            elif _is_canonical(text):
                assert parse_caption(text) == last
            elif asked is not None:
                assert answer(last, asked) == text
            elif is_good_reply([text], finished=True):  # chitchat: no picture of it
                assert turn is doc[1] or turn is doc[3]
            else:  # the answer to a question in people's words: a word, or an object of the picture
                if evidence_of(text):  # a yes/no or count answer: its evidence is this picture
                    evidence = evidence_of(text)
                    assert evidence in evidences_of(last), text
                assert verdict_of(text) in NEW_ANSWER_WORDS or text in ANSWER_WORDS or any(
                    text == object_answer(o.size, o.colour, o.shape) for o in last.objects), text
    assert pending is None  # every promised image came


def _is_canonical(text: str) -> bool:
    try:
        parse_caption(text)
        return True
    except ValueError:
        return False


def _is_edit(text, scene) -> bool:
    try:
        parse_edit(text, scene)
        return True
    except ValueError:
        return False


def _is_question(text) -> bool:
    try:
        question_form(text)
        return True
    except ValueError:
        return False


def test_format():
    for i in range(2000):
        doc = document(i)
        roles = [t["role"] for t in doc]
        assert roles == ["user", "assistant"] * (len(doc) // 2), roles
        assert 2 <= len(doc) <= 6
        for turn in doc:
            assert set(turn) == {"role", "content"} and turn["content"]
            for part in turn["content"]:
                if isinstance(part, str):
                    assert part and part == part.strip() and "\n" not in part and "<" not in part
                else:
                    assert isinstance(part, Image.Image) and part.size == (64, 64) and part.mode == "RGB"
        assert len(images(doc)) <= 3
        assert rough_tokens(doc) <= 400  # the built-in model's context is 512 (config.max_seq_len)


def rough_tokens(doc) -> int:
    """Words and punctuation, an image's tokens (its patches and two markers), 2 per turn."""
    words = sum(len(t.split()) + t.count(",") + t.count("?") for t in texts(doc))
    return words + TransfusionConfig().image_tokens * len(images(doc)) + 2 * len(doc)


def test_each_task_has_its_shape():
    seen = Counter()
    for i in range(400):
        task, doc = task_of(i), document(i)
        seen[task] += 1
        user, reply = doc[0]["content"], doc[1]["content"]
        if task == "text_to_image":
            assert len(doc) == 2 and isinstance(user[0], str) and len(user) == 1
            assert len(reply) == 1 and isinstance(reply[0], Image.Image)
        elif task == "image_to_text":
            assert isinstance(user[0], Image.Image) and isinstance(user[1], str)
            assert _is_canonical(reply[0])
        elif task == "question":
            assert isinstance(user[0], Image.Image) and _is_question(user[1]) and isinstance(reply[0], str)
        elif task in ("edit", "natural_edit"):
            assert isinstance(user[0], Image.Image) and isinstance(user[1], str)
            assert len(reply) == 1 and isinstance(reply[0], Image.Image)
        elif task == "request":
            assert len(doc) == 2 and len(user) == 1 and isinstance(user[0], str)
            assert reply[0].startswith("here is ") and analyse(reply[1]) == parse_caption(reply[0][8:])
        elif task == "natural_question":
            assert isinstance(user[0], Image.Image) and len(reply) == 1 and isinstance(reply[0], str)
        elif task == "chitchat":
            assert len(user) == 1 and is_good_reply(reply, finished=True) and len(doc) in (2, 4)
        elif task == "reason":
            assert len(doc) in (2, 4, 6) and len(user) == 1 and read_in_words(user[0]) is not None
            assert all(len(t["content"]) == 1 and isinstance(t["content"][0], str) for t in doc)
            assert all(evidence_of(t["content"][0]) for t in doc[1::2])
        else:
            assert task == "chat" and 4 <= len(doc) <= 6
    assert set(seen) == set(DEFAULT_MIXTURE) == set(TASKS) - {"glossary"}  # the glossary: asked for by weight


def test_glossary_documents_define_words_and_never_ask_for_a_picture():
    from transfusion.shapesworld.glossary import ASKING, ASKING_BACK, GLOSSARY, definition

    asked_about = Counter()
    for i in range(300):
        doc = document(i, mixture={"glossary": 1.0})
        assert 2 <= len(doc) <= 6 and not images(doc)
        for question, (answer,) in zip((t["content"] for t in doc[::2]), (t["content"] for t in doc[1::2])):
            (question,) = question
            word, meaning = answer.split(" means ", 1)
            assert answer == definition(word, meaning) and meaning in GLOSSARY[word]
            assert question in {a.format(word=word) for a in ASKING} | {a.format(meaning=meaning) for a in ASKING_BACK}
            asked_about[word] += 1
    assert set(asked_about) == set(GLOSSARY)


def test_the_glossary_defines_every_word_of_a_held_out_phrasing_that_no_task_says():
    from transfusion.evaluation.held_out import PHRASES, new_words, training_words
    from transfusion.shapesworld.glossary import GLOSSARY

    known = training_words(texts=5000)  # the default mixture: every task but the glossary
    defined = {w for entry in GLOSSARY for w in entry.split()}
    unread = {w for phrases in PHRASES.values() for p in phrases for w in new_words(p, known)}
    assert unread and unread <= defined, unread - defined
    meanings = {w for means in GLOSSARY.values() for m in means for w in m.split()}
    assert not new_words(" ".join(meanings), known)  # meanings are said in words the tasks use


def test_reason_documents_say_the_scene_and_give_the_verdict_it_implies():
    verdicts, forms, lengths = Counter(), Counter(), Counter()
    for i in range(400):
        doc = document(i, mixture={"reason": 1.0})
        lengths[len(doc) // 2] += 1
        (said,) = doc[0]["content"]
        caption, first = read_in_words(said)
        scene = parse_caption(caption)
        questions = [first] + [t["content"][0] for t in doc[2::2]]  # later ones: the scene not said again
        assert len(set(questions)) == len(questions)
        for question, (reply,) in zip(questions, (t["content"] for t in doc[1::2])):
            assert evidence_of(reply) in evidences_of(scene)
            try:
                form = new_question_form(question)
            except ValueError:  # people's words: no parser, the evidence check above still holds
                continue
            assert form in EVIDENCE_FORMS and reply == answer_new(scene, question)
            verdicts[verdict_of(reply)] += 1
            forms[form] += 1
    assert set(lengths) == {1, 2, 3}  # one to three questions a scene
    assert set(forms) == set(EVIDENCE_FORMS)
    assert verdicts["yes"] > 20 and verdicts["no"] > 20  # both verdicts, not one safe guess
    assert read_in_words("there is nothing here") is None and read_in_words("draw a red circle. now") is None


def test_deterministic_per_seed_and_index():
    for i in range(0, 300, 7):
        assert document(i, seed=3) == document(i, seed=3)  # PIL images compare by pixels
    differ = sum(document(i, seed=0) != document(i, seed=1) for i in range(100))
    assert differ > 90


def test_stream_positions_and_ranks():
    head = list(itertools.islice(stream(seed=2, start=40), 8))
    assert head == [document(i, seed=2) for i in range(40, 48)]
    world = 3
    parts = [list(itertools.islice(stream(seed=2, start=40, rank=r, world_size=world), 4)) for r in range(world)]
    interleaved = [parts[k % world][k // world] for k in range(12)]
    assert interleaved == [document(i, seed=2) for i in range(40, 52)]
    with pytest.raises(ValueError):
        next(stream(rank=2, world_size=2))


def test_mixture_weights():
    n = 20_000
    counts = Counter(task_of(i) for i in range(n))
    total = sum(DEFAULT_MIXTURE.values())
    for task, weight in DEFAULT_MIXTURE.items():
        assert counts[task] / n == pytest.approx(weight / total, abs=0.015)
    only = {"question": 1.0}
    assert all(task_of(i, mixture=only) == "question" for i in range(200))
    assert all(_is_question(document(i, mixture=only)[0]["content"][1]) for i in range(50))
    for bad in ({"poetry": 1.0}, {"question": -1.0}, {"question": 0.0}):
        with pytest.raises(ValueError):
            document(0, mixture=bad)


def test_text_corpus():
    corpus = text_corpus(300, seed=5)
    assert len(corpus) == 300 and all(isinstance(t, str) and t for t in corpus)
    assert corpus == text_corpus(300, seed=5) and corpus != text_corpus(300, seed=6)
    assert corpus[:10] == text_corpus(10, seed=5)


def test_20000_documents_hold_no_held_out_pair_and_tell_the_truth():
    """Text never names a held-out pair; every image is analysed, readable, and free of them;
    every caption, answer, edit and 'here is ...' sentence is true of its image."""
    n_images = 0
    for i in range(N_DOCUMENTS):
        doc = document(i, seed=0)
        joined = " ".join(texts(doc)).lower()
        for pattern in HELD_OUT_TEXT:
            assert not pattern.search(joined), (i, joined)
        for text in texts(doc):  # no held-out phrasing either
            assert not held_out_phrasings_in(text) and text not in HELD_OUT_MESSAGES, (i, text)
        task, said = task_of(i, seed=0), doc[0]["content"][-1]  # ('what do you see?' also asks to describe)
        assert not (task == "natural_question" and question_held_out(said)), (i, said)
        assert not (task == "natural_edit" and edit_held_out(said)), (i, said)
        check_truth(doc)
        n_images += len(images(doc))
    assert n_images > N_DOCUMENTS  # images were really checked


def test_canonical_prompts_and_captions_in_the_stream():
    """Canonical captions (alone or after "here is") are common in the stream, so the model learns the exact form."""
    docs = [document(i) for i in range(300)]
    canonical = sum(_is_canonical(t.removeprefix("here is ")) for d in docs for t in texts(d))
    assert canonical > 100
    assert any(canonical_caption(analyse(images(d)[0])) in texts(d) for d in docs)
