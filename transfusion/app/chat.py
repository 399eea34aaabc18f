"""The chat tab: the Chatbot's history <-> the pipeline's messages, and one streamed turn.

The Chatbot's value is the conversation: the pipeline is handed all of it every turn, images
included, so a follow-up ("make it blue") applies to the last image of the conversation with
no special code: the model was trained to edit the last image it saw. Retry and undo only
cut the history.

A turn streams: `stream_reply` runs `pipe.chat` in a worker thread (see `stream.py`) and yields
a `Snapshot` after every decoded token and every few denoising steps (or, when the reader
falls behind, after the latest of them), its parts in the order
the model produced them; the last snapshot holds exactly the parts `pipe.chat` returned.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Iterator

import gradio as gr
from PIL import Image

from .files import image_file
from .pictures import read_picture
from .stream import Done, stream_batches
from .text import user_text

DRAWING = "_drawing…_"  # an image has begun; its first preview is not ready yet
DRAWING_LABEL = "drawing: step"  # the label of a preview
MAX_FILES = 4  # pictures in one message (each takes config.image_tokens of the model's context)


# the Chatbot's values -> the pipeline's messages

def _part(part) -> str | Image.Image:
    """One part of a Chatbot message, in any of the forms Gradio uses, as a string or an image."""
    if isinstance(part, (str, Image.Image)):
        return part
    if isinstance(part, dict):
        kind = part.get("type")
        if kind == "text":
            return part["text"]
        if kind == "component":
            if part.get("component") != "image":
                raise ValueError(f"the chat holds a {part.get('component')!r}: the model reads only text and images")
            value = part["value"]
            return read_picture(value["path"] if isinstance(value, dict) else value)
        if "file" in part:  # {"type": "file", "file": {"path": ...}}
            return read_picture(part["file"]["path"])
        if "path" in part:  # {"path": ...}, as a user message is first written
            return read_picture(part["path"])
    if isinstance(getattr(part, "path", None), str):  # gradio FileData
        return read_picture(part.path)
    raise ValueError(f"the chat holds a {type(part).__name__} that the model cannot read")


def _unfinished(part) -> bool:
    """A placeholder or preview of a reply that never finished (its stream was cut)."""
    if isinstance(part, dict) and part.get("type") == "text":
        part = part["text"]
    if isinstance(part, str):
        return part == DRAWING
    label = part.get("constructor_args", {}).get("label") if isinstance(part, dict) else getattr(part, "label", None)
    return isinstance(label, str) and label.startswith(DRAWING_LABEL)


def to_messages(history: list) -> list[dict]:
    """The Chatbot's history as pipeline messages: {'role', 'content': [str | PIL image]}.
    Empty text is dropped, system messages skipped, consecutive messages of one role merged,
    and the placeholders of an unfinished reply left out."""
    messages: list[dict] = []
    for message in history or []:
        role = message["role"] if isinstance(message, dict) else message.role
        if role == "system":
            continue
        if role not in ("user", "assistant"):
            raise ValueError(f"unknown chat role {role!r}")
        content = message["content"] if isinstance(message, dict) else message.content
        content = content if isinstance(content, (list, tuple)) else [content]
        parts = [_part(p) for p in content if not (role == "assistant" and _unfinished(p))]
        parts = [user_text(p) if isinstance(p, str) else p for p in parts]
        parts = [p for p in parts if not (isinstance(p, str) and not p)]
        if not parts:
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(parts)
        else:
            messages.append({"role": role, "content": parts})
    return messages


def user_message(value: dict | str | None) -> dict | None:
    """A MultimodalTextbox value ({'text', 'files'}) as a Chatbot message, images first
    (as the model reads "[image] question"); None when there is nothing to send."""
    if isinstance(value, str):
        value = {"text": value, "files": []}
    value = value or {}
    if not isinstance(value, dict):
        raise ValueError("a message is {'text': ..., 'files': [...]}")
    text = user_text(value.get("text"))
    files = [f if isinstance(f, str) else f["path"] if isinstance(f, dict) else f.path for f in value.get("files") or []]
    if len(files) > MAX_FILES:
        raise ValueError(f"Attach at most {MAX_FILES} pictures to one message.")
    for f in files:
        read_picture(f)  # refuse anything that is not a usable picture now, not at the next turn
    if not text and not files:
        return None
    return {"role": "user", "content": [{"path": f} for f in files] + ([text] if text else [])}


# history edits: retry, undo

def _last_user(history: list) -> int | None:
    for i in range(len(history) - 1, -1, -1):
        if (history[i]["role"] if isinstance(history[i], dict) else history[i].role) == "user":
            return i
    return None


def retry_history(history: list) -> list:
    """The history up to and including the last user message (its reply removed)."""
    i = _last_user(history or [])
    if i is None:
        raise ValueError("nothing to retry: send a message first")
    return list(history[:i + 1])


def undo_history(history: list) -> tuple[list, dict]:
    """The history before the last user message, and that message as a textbox value
    ({'text', 'files'}) so that it can be changed and sent again."""
    i = _last_user(history or [])
    if i is None:
        return list(history or []), {"text": "", "files": []}
    message = history[i]
    content = message["content"] if isinstance(message, dict) else message.content
    text, files = [], []
    for p in content if isinstance(content, (list, tuple)) else [content]:
        if isinstance(p, str):
            text.append(p)
        elif isinstance(p, dict) and p.get("type") == "text":
            text.append(p["text"])
        elif isinstance(p, dict) and ("file" in p or "path" in p):
            files.append(p["file"]["path"] if "file" in p else p["path"])
        elif isinstance(p, dict) and p.get("type") == "component" and isinstance(p.get("value"), dict):
            files.append(p["value"]["path"])
    return list(history[:i]), {"text": " ".join(text), "files": files}


# one streamed turn

@dataclass
class Token:
    id: int


@dataclass
class Step:
    i: int
    total: int
    preview: Image.Image | None  # a picture of the partly denoised latents, every few steps


@dataclass
class Snapshot:
    """The reply so far: its parts in order (None: an image whose first preview is not ready)
    and, while an image is being drawn, (step, total)."""

    parts: list = field(default_factory=list)
    drawing: tuple[int, int] | None = None


class _Reply:
    """Builds the reply's parts from token and step events."""

    def __init__(self, tokenizer):
        self.tk = tokenizer
        self.parts: list = []
        self.ids: list[int] = []
        self.drawing: tuple[int, int] | None = None

    def add(self, event) -> None:
        if isinstance(event, Token):
            if event.id == self.tk.boi_id:
                self._close_text()
                self.parts.append(None)
                self.drawing = (0, 0)
            elif event.id != self.tk.eos_id:
                self.ids.append(event.id)
        elif isinstance(event, Step):
            self.drawing = None if event.i == event.total else (event.i, event.total)
            if event.preview is not None and self.parts:
                self.parts[-1] = event.preview

    def _close_text(self) -> None:
        if self.ids:
            self.parts.append(self.tk.decode(self.ids))
            self.ids = []

    def snapshot(self) -> Snapshot:
        text = [self.tk.decode(self.ids)] if self.ids else []
        return Snapshot(self.parts + text, self.drawing)


def preview_steps(total: int, previews: int = 5) -> set[int]:
    """The steps after which a preview is drawn: about `previews` of them, the last included."""
    every = max(1, total // previews)
    return {i for i in range(1, total + 1) if i % every == 0} | {total}


def stream_reply(pipe, messages: list[dict], seed: int, settings: dict, previews: int = 5,
                 lock=None, time_limit: float | None = None, interval: float = 0.0,
                 coalesce: bool = True) -> Iterator[Snapshot]:
    """Run `pipe.chat` and yield a Snapshot after every burst of events; the last holds its result.
    The worker holds `lock` (if given) while it uses the model, so the lock is released when
    the model is done, even if nobody reads the stream to its end. Past `time_limit` seconds
    the call stops and `TimeLimit` is raised. With an `interval`, snapshots come at most that
    often (every update costs the server tens of milliseconds to send), except that the
    first, every one that starts a new part, and the last are always sent. `coalesce=False`:
    a snapshot after every event, however slow the reader (for tests)."""
    shown = preview_steps(settings.get("steps", pipe.defaults.steps), previews)

    def work(emit):
        def on_step(i, total, latents):
            emit(Step(i, total, pipe.preview(latents) if i in shown else None))

        with lock or nullcontext():
            return pipe.chat(messages, seed=seed, on_token=lambda t: emit(Token(int(t))), on_step=on_step, **settings)

    reply = _Reply(pipe.checkpoint.tokenizer)
    sent_at, sent_parts = None, -1
    for batch in stream_batches(work, time_limit, coalesce):  # a snapshot per burst: the latest state
        for event in batch:
            if isinstance(event, Done):
                yield Snapshot(list(event.result), None)
                return
            reply.add(event)
        snap = reply.snapshot()
        now = time.monotonic()
        if sent_at is None or len(snap.parts) != sent_parts or now - sent_at >= interval:
            sent_at, sent_parts = now, len(snap.parts)
            yield snap


# a reply as Chatbot content

def image_part(image: Image.Image, label: str | None = None) -> gr.Image:
    return gr.Image(value=image_file(image), format="png", label=label, show_label=label is not None,
                    buttons=["download", "fullscreen"], height=256, elem_classes=["pixelated"])


def reply_message(snapshot: Snapshot) -> dict:
    """A Snapshot as an assistant message of the Chatbot."""
    content = []
    for k, part in enumerate(snapshot.parts):
        drawing_this = snapshot.drawing is not None and k == len(snapshot.parts) - 1
        if part is None:
            content.append(DRAWING)
        elif isinstance(part, Image.Image):
            label = f"{DRAWING_LABEL} {snapshot.drawing[0]}/{snapshot.drawing[1]}" if drawing_this else None
            content.append(image_part(part, label))
        else:
            content.append(part)
    return {"role": "assistant", "content": content or [""]}
