"""The app's event handlers: Gradio values in, Gradio values out, the pipeline in between.

`Demo` holds the one shared pipeline and a lock around it, taken by the worker thread that
runs each model call (see `stream.py`), so that model calls never overlap (demo.py also gives
every model event one queue slot). Generators stream: a chat reply token
by token with previews of each image as it is denoised, an edit preview by preview, each with
a progress bar. Errors a user can fix come back as `gr.Error` with what to do.
"""

from __future__ import annotations

import threading
from contextlib import closing
from pathlib import Path

import gradio as gr
from PIL import Image

from .about import about_markdown
from .chat import preview_steps, reply_message, retry_history, stream_reply, to_messages, undo_history, user_message
from .context import fit_context
from .editor import MAX_VERSIONS, EditSession
from .files import image_file
from .runtime import checkpoint_dir, load_pipeline
from .settings import Control, controls_for, resolve_seed, samplers_for, to_settings
from .stream import Done, TimeLimit, stream_batches
from .world import AppWorld, app_world
from .text import user_text

TIME_LIMIT = 120.0  # seconds of model time one request may use
STREAM_INTERVAL = 0.1  # seconds between a reply's updates to the browser (each costs the server ~25 ms)
MAX_HISTORY = 64  # chat messages read per turn: the model's context holds far fewer
# The settings each model event takes, as keyword arguments named so, after the seed and
# "randomize" (demo.py wires one control to each name; API clients send them in this order).
EDIT_SETTINGS = ("steps", "guidance", "image_guidance", "sampler")
CHAT_SETTINGS = (*EDIT_SETTINGS, "temperature", "top_p", "max_new_tokens")


def read_settings(names: tuple[str, ...], values: dict, seed, randomize) -> tuple[dict, int]:
    """The controls' values (keyed by the setting names of an event) as pipeline settings, and
    the seed to use."""
    if set(values) != set(names):
        raise ValueError(f"expected the settings {', '.join(names)}, got {', '.join(values) or 'none'}")
    return to_settings(**values), resolve_seed(seed, randomize)


class Demo:
    def __init__(self, pipe, checkpoint: str | Path | None = None, time_limit: float | None = TIME_LIMIT,
                 interval: float = 0.0):
        self.pipe = pipe
        self.checkpoint_dir = checkpoint_dir(checkpoint)
        self.world: AppWorld = app_world(self.checkpoint_dir, pipe.checkpoint.config.vae.image_size)
        self.lock = threading.Lock()
        self.time_limit = time_limit
        self.interval = interval

    @classmethod
    def load(cls, checkpoint=None, device=None, quantization="auto", time_limit: float | None = TIME_LIMIT,
             interval: float = STREAM_INTERVAL) -> "Demo":
        return cls(load_pipeline(checkpoint, device, quantization), checkpoint, time_limit, interval)

    def _too_slow(self, e: TimeLimit) -> gr.Error:
        return gr.Error(f"This request was stopped after the time limit of {e.seconds:g} s: "
                        "try fewer denoising steps or a shorter reply.")

    @property
    def controls(self) -> dict[str, Control]:
        """The sliders, starting at the loaded checkpoint's defaults."""
        return controls_for(self.pipe.defaults)

    @property
    def samplers(self) -> list[str]:
        return samplers_for(self.pipe.checkpoint.config.objective)

    def about(self) -> str:
        return about_markdown(self.pipe, self.checkpoint_dir, self.world.knows,
                              self.world.grade.replace("{checkpoint}", str(self.checkpoint_dir)))

    # chat (each model handler takes its settings as keywords, those of CHAT_SETTINGS or EDIT_SETTINGS)

    def chat_send(self, message, history, seed, randomize, progress=gr.Progress(), **settings):
        """Send the textbox's message and stream the reply.
        Yields (textbox, chatbot, seed used)."""
        try:
            settings, seed = read_settings(CHAT_SETTINGS, settings, seed, randomize)
            turn = user_message(message)
        except ValueError as e:
            raise gr.Error(str(e)) from None
        if turn is None:
            raise gr.Error("Type a message, or attach an image and ask about it.")
        history = [*(history or []), turn]
        yield gr.MultimodalTextbox(value=None, interactive=False), history, seed
        for h in self._reply(history, seed, settings, progress):
            yield gr.skip(), h, seed

    def chat_retry(self, history, seed, randomize, progress=gr.Progress(), **settings):
        """Answer the last user message again (with a fresh seed when randomize is on).
        Yields (chatbot, seed used)."""
        try:
            settings, seed = read_settings(CHAT_SETTINGS, settings, seed, randomize)
            history = retry_history(history)
        except ValueError as e:
            raise gr.Error(str(e)) from None
        yield history, seed
        for h in self._reply(history, seed, settings, progress):
            yield h, seed

    def _reply(self, history: list, seed: int, settings: dict, progress):
        """Stream the assistant's reply to `history`: yields the history with the reply so far."""
        try:
            skipped = max(0, len(history) - MAX_HISTORY)
            messages = to_messages(history[skipped:])
            messages, dropped = fit_context(messages, self.pipe.checkpoint.tokenizer, self.pipe.checkpoint.config)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise gr.Error(str(e) if isinstance(e, ValueError) else "This chat's history is malformed: press Clear.") from None
        outside = self.world.outside_reply(messages) if self.world.outside_reply else None
        if outside is not None:  # asked for something outside the world: say what it can draw
            yield [*history, {"role": "assistant", "content": outside}]
            return
        if skipped or dropped:
            gr.Warning(f"This conversation is longer than the model can read ({self.pipe.checkpoint.config.max_seq_len} "
                       f"tokens): it sees only the latest messages, not the first {skipped + dropped}. "
                       "Press Clear to start afresh.")
        replies = stream_reply(self.pipe, messages, seed, settings, lock=self.lock, time_limit=self.time_limit,
                               interval=self.interval)
        with closing(replies) as snapshots:
            try:
                for snap in snapshots:
                    if snap.drawing and snap.drawing[1]:
                        progress(snap.drawing, desc="drawing", unit="steps")
                    yield [*history, reply_message(snap)]
            except TimeLimit as e:
                yield history  # without the unfinished reply
                raise self._too_slow(e) from None
            except ValueError as e:  # e.g. the reply ran out of the model's context
                yield history
                raise gr.Error(f"{e}. Undo or clear to start a shorter conversation.") from None

    @staticmethod
    def chat_undo(history):
        """Remove the last user message and its reply; put the message back in the textbox.
        Returns (chatbot, textbox)."""
        history, message = undo_history(history)
        return history, gr.MultimodalTextbox(value=message, interactive=True)

    @staticmethod
    def chat_clear():
        """Returns (chatbot, textbox)."""
        return [], gr.MultimodalTextbox(value=None, interactive=True)

    # editor

    def edit(self, image, instruction, session, seed, randomize, progress=gr.Progress(), **settings):
        """Edit the input picture, streaming previews into the result.
        Yields (result, session, history strip, seed used)."""
        session = session if isinstance(session, EditSession) else EditSession()
        try:
            if image is None:
                raise ValueError("Upload a picture to edit, or pick an example below.")
            instruction = user_text(instruction, "instruction")
            if not instruction:
                raise ValueError("Write an instruction, e.g. “make the red circle blue”.")
            settings, seed = read_settings(EDIT_SETTINGS, settings, seed, randomize)
            image = image.convert("RGB")
            if not session.room_for(image):
                raise ValueError(f"This editing session holds {MAX_VERSIONS} versions, the most it keeps: download "
                                 "the ones you want and upload a picture to start a new session.")
            fit_context([{"role": "user", "content": [image, instruction]}], self.pipe.checkpoint.tokenizer,
                        self.pipe.checkpoint.config)
        except ValueError as e:
            raise gr.Error(str(e)) from None
        shown = preview_steps(settings["steps"])

        def work(emit):
            def on_step(i, total, latents):
                emit((i, total, self.pipe.preview(latents) if i in shown else None))

            with self.lock:  # held by the worker: released when the model is done
                return self.pipe.edit_with_progress(image, instruction, seed=seed, on_step=on_step, **settings)

        with closing(stream_batches(work, self.time_limit)) as batches:
            try:
                for batch in batches:
                    if isinstance(batch[-1], Done):
                        result = batch[-1].result
                        break
                    i, total, _ = batch[-1]
                    progress((i, total), desc="editing", unit="steps")
                    preview = next((p for _, _, p in reversed(batch) if p is not None), None)
                    if preview is not None and i < total:
                        yield image_file(preview), session, gr.skip(), seed
            except TimeLimit as e:
                raise self._too_slow(e) from None
            except ValueError as e:
                raise gr.Error(str(e)) from None
        # located now, not before: a new upload during the edit may have started a new session
        session.add(result, instruction, seed, session.locate(image))
        yield image_file(result), session, self._strip(session), seed

    @staticmethod
    def _strip(session: EditSession) -> list[tuple[str, str]]:
        return [(image_file(image), caption) for image, caption in session.gallery()]

    @staticmethod
    def keep_editing(result):
        """The result becomes the input. Returns the input picture."""
        if result is None:
            raise gr.Error("Nothing to keep yet: run an edit first.")
        return image_file(result)

    @staticmethod
    def back(image, session):
        """The input goes back to the version it was edited from. Returns (input, session)."""
        session = session if isinstance(session, EditSession) else EditSession()
        if image is None:
            raise gr.Error("No picture to go back from.")
        return image_file(session.back(image.convert("RGB"))), session

    @staticmethod
    def pick_version(session, evt: gr.SelectData):
        """A click on the history strip puts that version in the input. Returns the input picture."""
        if not isinstance(session, EditSession) or not 0 <= evt.index < len(session.versions):
            raise gr.Error("That version is no longer in this session's history.")
        return image_file(session.versions[evt.index].image)

    @staticmethod
    def new_input(image, session):
        """A new picture in the input: the history strip shows its session. Returns (session, strip)."""
        session = session if isinstance(session, EditSession) else EditSession()
        if isinstance(image, Image.Image):
            session.locate(image.convert("RGB"))
            return session, Demo._strip(session)
        return session, gr.skip()
