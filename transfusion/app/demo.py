"""The demo's layout and event wiring: a chat that writes and draws, and an instruction-based editor.

    python app.py                      # the built-in model, http://127.0.0.1:7860 (what a Space runs)
    transfusion-demo --checkpoint runs/shapesworld/model --quantization int8   # the same, installed

Layout and wiring only: every model decision lives in the other modules of `transfusion.app`.
"""

from __future__ import annotations

import argparse
import logging
import os

# First: on a ZeroGPU Space, `spaces` must be imported before anything touches CUDA.
from .runtime import QUANTIZATIONS, built_in_checkpoints, gpu

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network unless asked for

import gradio as gr  # noqa: E402

from .editor import EditSession  # noqa: E402
from .handlers import CHAT_SETTINGS, EDIT_SETTINGS, STREAM_INTERVAL, TIME_LIMIT, Demo  # noqa: E402
from .inputs import PictureInput, SeedNumber, SettingSlider  # noqa: E402
from .settings import DEFAULT_SAMPLER, MAX_SEED  # noqa: E402

SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "sans-serif"]  # no web fonts: the app works offline
THEME = gr.themes.Soft(font=SYSTEM_FONTS, font_mono=["ui-monospace", "monospace"])
# 64 x 64 pictures, shown large and sharp
CSS = """
.pixelated img, [id^=chatbot] .message.component img { image-rendering: pixelated; }
[id^=chatbot] .message.component img { width: 176px; height: 176px; object-fit: contain; }
[id^=edit-input] .image-frame img, [id^=edit-output] .image-frame img { width: 280px; height: 280px; object-fit: contain; }
"""
MODEL_EVENT = dict(concurrency_limit=1, concurrency_id="model")  # one model call at a time
MAX_QUEUE = 32  # requests waiting for the model; one more is told the app is busy
MAX_FILE_SIZE = "10mb"  # per upload
CACHE_CLEANUP = (3600, 86400)  # every hour, delete cached files older than a day


def parse_args(argv=None, prog: str | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=prog, description="The Transfusion demo: a chat that writes and draws, and an image editor.")
    p.add_argument("--host", default=None, help="address to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    p.add_argument("--checkpoint", action="append", default=None,
                   help="checkpoint folder; more than once for a model picker (default: the built-in models in assets/)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1... (default: CUDA where present)")
    p.add_argument("--quantization", choices=QUANTIZATIONS, default="auto",
                   help="auto: int8 weights on CUDA, full precision on the CPU; none; int8")
    p.add_argument("--share", action="store_true", help="also serve through a public Gradio link (off by default)")
    p.add_argument("--max-queue", type=int, default=MAX_QUEUE,
                   help="requests that may wait for the model; more are refused as busy (default %(default)s)")
    p.add_argument("--time-limit", type=float, default=TIME_LIMIT,
                   help="seconds of model time one request may use, then it stops (default %(default)s)")
    p.add_argument("--stream-interval", type=float, default=STREAM_INTERVAL,
                   help="seconds between a reply's updates in the browser (0: after every token and step)")
    p.add_argument("--max-file-size", default=MAX_FILE_SIZE, help="largest upload, e.g. 10mb (default %(default)s)")
    return p.parse_args(argv)


def slider(demo: Demo, name: str) -> gr.Slider:
    c = demo.controls[name]
    return SettingSlider(c.minimum, c.maximum, value=c.value, step=c.step, label=c.label, info=c.info)


def seed_controls() -> tuple[gr.Number, gr.Checkbox]:
    with gr.Row():
        seed = SeedNumber(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED,
                         info="After each run: the seed that was used.")
        randomize = gr.Checkbox(True, label="Randomize seed", info="A fresh seed every run.")
    return seed, randomize


def sampler_choice(demo: Demo) -> gr.Dropdown:
    return gr.Dropdown(demo.samplers, value=DEFAULT_SAMPLER, label="Sampler", info="default: the model's own")


def setting_controls(demo: Demo, names: tuple[str, ...]) -> dict[str, gr.Component]:
    """One control per setting name, in a row: the keyword inputs of the events that read them."""
    with gr.Row():
        return {name: sampler_choice(demo) if name == "sampler" else slider(demo, name) for name in names}


def chat_tab(demo: Demo, k: str = "") -> None:
    """The chat of one model; `k` suffixes its element ids and API names ('' for the first model)."""
    chatbot = gr.Chatbot(elem_id=f"chatbot{k}", height=680, label="Chat", buttons=["copy"], placeholder=demo.world.chat_hint)
    box = gr.MultimodalTextbox(elem_id=f"chat-input{k}", file_types=["image"], sources=["upload"], show_label=False,
                               placeholder=demo.world.chat_placeholder)
    with gr.Row():
        retry = gr.Button("↻ Retry", elem_id=f"chat-retry{k}", size="sm")
        undo = gr.Button("↶ Undo", elem_id=f"chat-undo{k}", size="sm")
        clear = gr.Button("Clear", elem_id=f"chat-clear{k}", size="sm")
    gr.Examples(demo.world.chat_examples, inputs=box, label="Examples")
    with gr.Accordion("Settings", open=False, elem_id=f"chat-settings{k}"):
        settings = setting_controls(demo, EDIT_SETTINGS)  # the drawing's, then the words'
        settings |= setting_controls(demo, CHAT_SETTINGS[len(EDIT_SETTINGS):])
        seed, randomize = seed_controls()

    enable = dict(fn=lambda: gr.MultimodalTextbox(interactive=True), outputs=box, api_visibility="private", queue=False)
    # the progress bar covers the textbox, not the chat, where the picture's previews appear
    box.submit(gpu(demo.chat_send), [box, chatbot, seed, randomize], [box, chatbot, seed], inputs_kwargs=settings,
               api_name=f"chat{k}", show_progress_on=box, **MODEL_EVENT).then(**enable)
    retry.click(gpu(demo.chat_retry), [chatbot, seed, randomize], [chatbot, seed], inputs_kwargs=settings,
                api_name=f"retry{k}", show_progress_on=box, **MODEL_EVENT)
    undo.click(demo.chat_undo, chatbot, [chatbot, box], api_name=f"undo{k}")
    clear.click(demo.chat_clear, None, [chatbot, box], api_name=f"clear{k}")


def editor_tab(demo: Demo, k: str = "") -> None:
    """The editor of one model; `k` as in `chat_tab`."""
    session = gr.State(EditSession())
    with gr.Row(equal_height=True):
        source = PictureInput(format="png", label="Input", sources=["upload", "clipboard"], height=320,
                              elem_id=f"edit-input{k}", elem_classes=["pixelated"])
        result = PictureInput(format="png", label="Result", interactive=False, height=320,
                              buttons=["download", "fullscreen"], elem_id=f"edit-output{k}", elem_classes=["pixelated"])
    instruction = gr.Textbox(label="Instruction", placeholder=demo.world.edit_placeholder, elem_id=f"edit-instruction{k}",
                             info="“Keep editing” makes the result the new input; “Previous version” steps back.")
    with gr.Row():
        run = gr.Button("Edit", variant="primary", elem_id=f"edit-run{k}")
        keep = gr.Button("⇦ Keep editing", elem_id=f"edit-keep{k}")
        back = gr.Button("↶ Previous version", elem_id=f"edit-back{k}")
    with gr.Accordion("Settings", open=False, elem_id=f"edit-settings{k}"):
        settings = setting_controls(demo, EDIT_SETTINGS)
        seed, randomize = seed_controls()
    history = gr.Gallery(label="History: every version; click one to edit it again", columns=6, rows=1, height=220,
                         fit_columns=False, object_fit="contain", format="png", allow_preview=False,
                         interactive=False, buttons=["download"],
                         elem_id=f"edit-history{k}", elem_classes=["pixelated"])
    if demo.world.edit_examples:
        gr.Examples(demo.world.edit_examples, inputs=[source, instruction], label="Examples")

    edit = dict(fn=gpu(demo.edit), inputs=[source, instruction, session, seed, randomize], inputs_kwargs=settings,
                outputs=[result, session, history, seed], show_progress_on=instruction, **MODEL_EVENT)
    run.click(**edit, api_name=f"edit{k}")
    instruction.submit(**edit, api_name=f"edit_submit{k}", api_visibility="private")
    keep.click(demo.keep_editing, result, source, api_name=f"keep_editing{k}")
    back.click(demo.back, [source, session], [source, session], api_name=f"back{k}")
    history.select(demo.pick_version, session, source, api_visibility="private")
    source.change(demo.new_input, [source, session], [session, history], api_visibility="private")


def model_names(demos: list[Demo]) -> list[str]:
    """The picker's names: each model's world; where two share a world, its folder too; where
    they still agree, a number."""
    worlds = [d.world.name for d in demos]
    names = [w if worlds.count(w) == 1 else f"{w} ({d.checkpoint_dir.name})" for w, d in zip(worlds, demos)]
    return [n if names.count(n) == 1 else f"{n} {names[:i].count(n) + 1}" for i, n in enumerate(names)]


def build(demos: Demo | list[Demo]) -> gr.Blocks:
    """The app: for each model its chat, editor and About; a picker at the top when there are
    several (they all stay loaded, so switching is instant). The first model's API names are
    plain (`/chat`, `/edit`, ...), the next ones' end in their place (`/chat_1`, ...)."""
    demos = demos if isinstance(demos, list) else [demos]
    names = model_names(demos)
    with gr.Blocks(title="Transfusion", analytics_enabled=False, delete_cache=CACHE_CLEANUP) as blocks:
        gr.Markdown("# Transfusion\nOne transformer that writes text and draws pictures (Zhou et al. 2024).")
        picker = gr.Radio(names, value=names[0], label="Model", elem_id="model-picker", visible=len(demos) > 1)
        columns = []
        for i, demo in enumerate(demos):
            k = f"_{i}" if i else ""
            with gr.Column(visible=i == 0, elem_id=f"model{k}") as column:
                gr.Markdown(f"This model was {demo.world.intro}: see **About** for what it knows.")
                with gr.Tab("Chat", elem_id=f"tab-chat{k}"):
                    chat_tab(demo, k)
                with gr.Tab("Editor", elem_id=f"tab-editor{k}"):
                    editor_tab(demo, k)
                with gr.Tab("About", elem_id=f"tab-about{k}"):
                    gr.Markdown(demo.about())
            columns.append(column)
        picker.change(lambda name: [gr.Column(visible=n == name) for n in names], picker, columns,
                      api_visibility="private", queue=False)
    return blocks


def main(argv=None, prog: str | None = None) -> None:
    """Parse the command line (`argv`, default sys.argv) and serve the demo until stopped."""
    args = parse_args(argv, prog)
    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("transfusion").setLevel(logging.INFO)
    try:
        demos = [Demo.load(c, args.device, args.quantization, args.time_limit or None, args.stream_interval)
                 for c in args.checkpoint or built_in_checkpoints()]
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"{prog or 'transfusion-demo'}: {e}") from None
    # no allowed_paths: Gradio serves only its own cache (uploads, and the pictures the app returns)
    build(demos).queue(max_size=args.max_queue).launch(
        server_name=args.host, server_port=args.port, share=True if args.share else None,
        max_file_size=args.max_file_size, show_error=True, theme=THEME, css=CSS)

