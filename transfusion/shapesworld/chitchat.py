"""Conversation outside drawing: greetings, thanks, questions about the model itself, and
requests for things it cannot draw. Each gets a short text reply, never a picture, that says
what it can draw and gives an example request.

`random_chitchat(rng, held_out)` draws a user message and its reply. Some whole phrasings and
some out-of-world things are held out (never in training), so the evaluator can report how the
model does on messages it has never seen; `is_good_reply` is how a reply is judged.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from .captions import canonical_caption, join_list
from .requests import REQUEST_FORMS
from .words import article
from .world import BACKGROUNDS, COLOURS, SHAPES, SIZES, random_scene

CHITCHAT_KINDS: tuple[str, ...] = ("greeting", "thanks", "about", "out of world")

MESSAGES: dict[str, tuple[str, ...]] = {
    "greeting": ("hello", "hi", "hey", "hi there", "hello!", "good morning", "hello, who are you?",
                 "hey, how are you?", "yo", "greetings",
                 "good day", "hey there", "good to see you", "hi, nice to meet you", "morning!"),
    "thanks": ("thanks", "thank you", "thanks!", "great, thanks", "nice, thank you", "cool", "awesome",
               "thank you so much",
               "cheers", "many thanks", "much appreciated", "fantastic", "thanks a lot", "that's nice"),
    "about": ("who are you?", "what can you do?", "what can you draw?", "help", "what are you?",
              "what do you know?", "how does this work?", "what is this?",
              "can you help me?", "how do I use this?", "what should I ask?", "what are you for?",
              "what kind of pictures do you make?"),
}
# Things outside the world, asked for in the forms people use ("draw a cat", "show me a dog").
THINGS: tuple[str, ...] = ("cat", "dog", "house", "tree", "car", "flower", "bird", "fish", "horse", "boat",
                           "person", "face", "sun", "moon", "star", "heart", "mountain", "apple", "robot",
                           "dragon", "castle", "rainbow", "cloud", "train", "cake", "guitar", "lion", "spider",
                           "unicorn", "penguin", "octopus", "igloo", "hamburger", "kite")
# {a}: the thing's article ("a cat", "an apple")
THING_REQUESTS: tuple[str, ...] = ("draw {a} {thing}", "can you draw {a} {thing}?", "please draw {a} {thing}",
                                   "show me {a} {thing}", "draw me {a} {thing}", "paint {a} {thing}", "{a} {thing}",
                                   "make a picture of {a} {thing}",
                                   "could you draw {a} {thing}?", "sketch {a} {thing}", "I want a picture of {a} {thing}",
                                   "how about {a} {thing}?")
# Never in training: the evaluator's unseen messages. Seven of each kind, 11 things and 6 forms, so
# that the held-out row's 100 cases spread over some 45 distinct messages; until December 2026 it
# had five messages, and one held-out word moved the row by a quarter of its cases.
HELD_OUT_MESSAGES: frozenset[str] = frozenset({
    "hey, how are you?", "greetings", "good day", "hey there", "good to see you", "hi, nice to meet you", "morning!",
    "awesome", "cheers", "many thanks", "much appreciated", "fantastic", "thanks a lot", "that's nice",
    "what do you know?", "how does this work?", "can you help me?", "how do I use this?", "what should I ask?",
    "what are you for?", "what kind of pictures do you make?"})
HELD_OUT_THINGS: frozenset[str] = frozenset({"dragon", "castle", "guitar", "lion", "spider",
                                             "unicorn", "penguin", "octopus", "igloo", "hamburger", "kite"})
HELD_OUT_THING_REQUESTS: frozenset[str] = frozenset({"draw me {a} {thing}", "make a picture of {a} {thing}",
                                                     "could you draw {a} {thing}?", "sketch {a} {thing}",
                                                     "I want a picture of {a} {thing}", "how about {a} {thing}?"})
# Training alone also says these (`wider=True`): more ways to thank and greet, more things outside
# the world. A wider pool teaches that a message naming no shape is not a drawing request, while
# the evaluator's cases, seen and held out, stay what they were (drawn from the pools above only).
MORE_MESSAGES: dict[str, tuple[str, ...]] = {
    "greeting": ("good evening", "hiya", "howdy", "good afternoon", "hello there", "hi, what's up?"),
    "thanks": ("great", "nice", "wow", "amazing", "perfect", "lovely", "neat", "brilliant", "excellent",
               "well done", "good job", "ok, thanks", "that's great", "beautiful", "wonderful"),
    "about": ("what is your name?", "are you a robot?", "tell me about yourself"),
}
MORE_THINGS: tuple[str, ...] = ("elephant", "plane", "bicycle", "chair", "monkey", "bear", "banana", "pizza",
                                "ship", "shoe", "clock", "butterfly", "owl", "rocket", "frog", "window",
                                "umbrella", "snake", "whale", "ant")
# Training alone also asks for things outside the world in every seen request form of a shape
# (REQUEST_FORMS.seen: "generate a cat", "give me a dog", "a picture of a tree"), so that no form
# says a picture must follow: the thing named decides. Until December 2026 only the forms of
# THING_REQUESTS asked for things, and the held-out "make a picture of a lion" was drawn ("make a
# picture of" is also the chats' lead-in, documents.DRAW_LEAD_INS; it stays a held-out form here).
MORE_THING_REQUESTS: tuple[str, ...] = tuple(
    f"{form}{{a}} {{thing}}" for form in REQUEST_FORMS.seen if f"{form}{{a}} {{thing}}" not in THING_REQUESTS)

_COUNT = {8: "eight"}  # how many colours, in words
WHAT_I_DRAW = (f"I draw {join_list([s + 's' for s in SHAPES])}, {' or '.join(SIZES)}, in {_COUNT[len(COLOURS)]} "
               f"colors on a {join_list(list(BACKGROUNDS), last=' or ')} background")
OPENINGS: dict[str, str] = {
    "greeting": "hello! {what}.",
    "thanks": "you're welcome! {what}.",
    "about": "{what}, and I can describe such pictures, answer questions about them and edit them.",
    "out of world": "I can't draw {a} {thing}: {what}.",
}


@dataclass(frozen=True)
class ChitChat:
    kind: str  # one of CHITCHAT_KINDS
    message: str  # what the user says
    reply: str  # the assistant's whole answer: text only


def example_request(rng: random.Random) -> str:
    """A request the model can draw, to suggest: 'draw <a canonical caption>'."""
    return "draw " + canonical_caption(random_scene(rng, n_objects=1))


def random_chitchat(rng: random.Random, held_out: bool = False, kind: str | None = None,
                    wider: bool = False) -> ChitChat:
    """A user message outside drawing and its reply. With `held_out` the message is one of the
    held-out phrasings (or things); without, never. `wider` (training, not held out) draws from
    the pools widened by MORE_MESSAGES, MORE_THINGS and MORE_THING_REQUESTS."""
    assert not (held_out and wider), "the wider pools are for training only"
    kind = kind or rng.choice(CHITCHAT_KINDS)
    if kind == "out of world":
        # held out: a held-out thing or a held-out form (or both); in training: neither
        things = [t for t in THINGS if (t in HELD_OUT_THINGS) == held_out] + list(MORE_THINGS if wider else ())
        forms = [f for f in THING_REQUESTS if (f in HELD_OUT_THING_REQUESTS) == held_out] + list(
            MORE_THING_REQUESTS if wider else ())
        if held_out and rng.random() < 0.5:
            things = list(THINGS)  # a held-out form of any thing
        elif held_out:
            forms = list(THING_REQUESTS)  # a held-out thing in any form
        thing = rng.choice(things)
        message = rng.choice(forms).format(a=article(thing), thing=thing)
    else:
        thing = ""
        choices = [m for m in MESSAGES[kind] if (m in HELD_OUT_MESSAGES) == held_out] + list(
            MORE_MESSAGES[kind] if wider else ())
        if not choices:  # a kind with nothing held out: its held-out cases use a held-out thing instead
            return random_chitchat(rng, held_out, "out of world")
        message = rng.choice(choices)
    return ChitChat(kind, message, reply_for(kind, thing, example_request(rng)))


def reply_for(kind: str, thing: str, example: str) -> str:
    """The reply to a message of `kind` (`thing`: what was asked for, if outside the world)."""
    return f"{OPENINGS[kind].format(what=WHAT_I_DRAW, a=article(thing) if thing else '', thing=thing)} try: {example}"


_SHAPE_WORD = re.compile(rf"\b({'|'.join(SHAPES)})s?\b")


REPLY_FAULTS: tuple[str, ...] = ("empty", "picture", "cut", "too long", "no shape", "no request")


def reply_fault(parts: list, finished: bool, max_words: int = 60) -> str | None:
    """What is wrong with a reply to chitchat (one of REPLY_FAULTS, the first that applies), or
    None for a good reply: text only, ended of itself (`finished`: the model stopped before its
    token budget), short, naming a shape it can draw and suggesting a request ('draw')."""
    if not parts:
        return "empty"
    if not all(isinstance(p, str) for p in parts):
        return "picture"
    if not finished:
        return "cut"
    text = " ".join(parts).lower()
    if len(text.split()) > max_words:
        return "too long"
    if not _SHAPE_WORD.search(text):
        return "no shape"
    return None if "draw" in text else "no request"


def is_good_reply(parts: list, finished: bool, max_words: int = 60) -> bool:
    """Whether a reply to chitchat is good (`reply_fault` finds nothing wrong)."""
    return reply_fault(parts, finished, max_words) is None
