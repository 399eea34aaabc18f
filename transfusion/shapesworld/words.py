"""Small rules of the world's English, each written once: regex alternations of word lists,
'a' or 'an', and finding whole phrases (the held-out phrasings) in a text or a template."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable


def alternatives(words: Iterable[str]) -> str:
    """A regex alternation of these words, longest first (so a word is never cut short)."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def article(word: str) -> str:
    """'an' before a vowel ('an orange square'), else 'a'."""
    return "an" if word[0] in "aeiou" else "a"


def phrase_matcher(phrases: Iterable[str]) -> Callable[[str], str | None]:
    """The first of these phrases that a text holds as whole words (the longest of those that
    start at one place), or None."""
    pattern = re.compile(rf"\b(?:{alternatives(phrases)})\b")

    def match(text: str) -> str | None:
        found = pattern.search(text)
        return found.group(0) if found else None

    return match


def phrase_finder(phrases: Iterable[str]) -> Callable[[str], bool]:
    """A test of whether a text holds any of these phrases as whole words."""
    match = phrase_matcher(phrases)
    return lambda text: match(text) is not None


def without_slots(template: str) -> str:
    """A template's words alone: '{colour}' is a slot, not a word."""
    return re.sub(r"\{\w+\}", "", template)
