"""Text from users: control characters removed, length checked.

Control characters (NUL, escape sequences, bidi overrides...) carry nothing the model can use
and can confuse logs and terminals, so they are dropped; newlines and tabs become spaces (the
model was trained on one-line messages). Emoji and other scripts stay: the tokenizer falls
back to bytes for anything it has not seen. A message longer than `MAX_CHARS` is refused
before it is tokenized (the model's whole context is 512 tokens, a few hundred words).
"""

from __future__ import annotations

import unicodedata

MAX_CHARS = 2000


def clean_text(text: str) -> str:
    """`text` without control or format characters, whitespace runs made single spaces."""
    if not isinstance(text, str):
        raise ValueError(f"expected text, got {type(text).__name__}")
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\t\n\r" or cat == "Zs":
            kept.append(" ")
        elif cat in ("Cc", "Cf", "Cs", "Co") and ch != "\u200d":  # keep the emoji joiner
            continue
        else:
            kept.append(ch)
    return " ".join("".join(kept).split())


def user_text(text: str | None, what: str = "message") -> str:
    """A user's message or instruction, cleaned; ValueError when it is too long."""
    text = text or ""
    if len(text) > MAX_CHARS:
        raise ValueError(f"Your {what} is {len(text):,} characters long; the limit is {MAX_CHARS:,} "
                         "(the model reads a few hundred words at most). Shorten it and send it again.")
    return clean_text(text)
