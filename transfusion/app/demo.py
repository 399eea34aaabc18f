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
from .runtime import QUANTIZATIONS, gpu

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network unless asked for

import gradio as gr  # noqa: E402

from .editor import EditSession  # noqa: E402
from .examples import chat_examples, edit_examples  # noqa: E402
from .handlers import CHAT_SETTINGS, EDIT_SETTINGS, STREAM_INTERVAL, TIME_LIMIT, Demo  # noqa: E402
from .inputs import PictureInput, SeedNumber, SettingSlider  # noqa: E402
from .settings import DEFAULT_SAMPLER, MAX_SEED  # noqa: E402

SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "sans-serif"]  # no web fonts: the app works offline
THEME = gr.themes.Soft(font=SYSTEM_FONTS, font_mono=["ui-monospace", "monospace"])
# 64 x 64 pictures, shown large and sharp
CSS = """
.pixelated img, #chatbot .message.component img { image-rendering: pixelated; }
#chatbot .message.component img { width: 176px; height: 176px; object-fit: contain; }
#edit-input .image-frame img, #edit-output .image-frame img { width: 280px; height: 280px; object-fit: contain; }
"""
MODEL_EVENT = dict(concurrency_limit=1, concurrency_id="model")  # one model call at a time
MAX_QUEUE = 32  # requests waiting for the model; one more is told the app is busy
MAX_FILE_SIZE = "10mb"  # per upload
CACHE_CLEANUP = (3600, 86400)  # every hour, delete cached files older than a day


def parse_args(argv=None, prog: str | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=prog, description="The Transfusion demo: a chat that writes and draws, and an image editor.")
    p.add_argument("--host", default=None, help="address to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    p.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the built-in model in assets/model)")
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


def chat_tab(demo: Demo) -> None:
    chatbot = gr.Chatbot(elem_id="chatbot", height=680, label="Chat", buttons=["copy"],
                         placeholder="Ask it to draw something, or attach a picture and ask about it or ask for an edit. "
                                     "Follow-ups apply to the last picture.")
    box = gr.MultimodalTextbox(elem_id="chat-input", file_types=["image"], sources=["upload"], show_label=False,
                               placeholder="draw a large red circle in the center on a white background")
    with gr.Row():
        retry = gr.Button("↻ Retry", elem_id="chat-retry", size="sm")
        undo = gr.Button("↶ Undo", elem_id="chat-undo", size="sm")
        clear = gr.Button("Clear", elem_id="chat-clear", size="sm")
    gr.Examples(chat_examples(), inputs=box, label="Examples")
    with gr.Accordion("Settings", open=False, elem_id="chat-settings"):
        settings = setting_controls(demo, EDIT_SETTINGS)  # the drawing's, then the words'
        settings |= setting_controls(demo, CHAT_SETTINGS[len(EDIT_SETTINGS):])
        seed, randomize = seed_controls()

    enable = dict(fn=lambda: gr.MultimodalTextbox(interactive=True), outputs=box, api_visibility="private", queue=False)
    # the progress bar covers the textbox, not the chat, where the picture's previews appear
    box.submit(gpu(demo.chat_send), [box, chatbot, seed, randomize], [box, chatbot, seed], inputs_kwargs=settings,
               api_name="chat", show_progress_on=box, **MODEL_EVENT).then(**enable)
    retry.click(gpu(demo.chat_retry), [chatbot, seed, randomize], [chatbot, seed], inputs_kwargs=settings,
                api_name="retry", show_progress_on=box, **MODEL_EVENT)
    undo.click(demo.chat_undo, chatbot, [chatbot, box], api_name="undo")
    clear.click(demo.chat_clear, None, [chatbot, box], api_name="clear")


def editor_tab(demo: Demo) -> None:
    session = gr.State(EditSession())
    with gr.Row(equal_height=True):
        source = PictureInput(format="png", label="Input", sources=["upload", "clipboard"], height=320,
                              elem_id="edit-input", elem_classes=["pixelated"])
        result = PictureInput(format="png", label="Result", interactive=False, height=320,
                              buttons=["download", "fullscreen"], elem_id="edit-output", elem_classes=["pixelated"])
    instruction = gr.Textbox(label="Instruction", placeholder="make the red circle blue", elem_id="edit-instruction",
                             info="“Keep editing” makes the result the new input; “Previous version” steps back.")
    with gr.Row():
        run = gr.Button("Edit", variant="primary", elem_id="edit-run")
        keep = gr.Button("⇦ Keep editing", elem_id="edit-keep")
        back = gr.Button("↶ Previous version", elem_id="edit-back")
    with gr.Accordion("Settings", open=False, elem_id="edit-settings"):
        settings = setting_controls(demo, EDIT_SETTINGS)
        seed, randomize = seed_controls()
    history = gr.Gallery(label="History: every version; click one to edit it again", columns=6, rows=1, height=220,
                         fit_columns=False, object_fit="contain", format="png", allow_preview=False,
                         interactive=False, buttons=["download"],
                         elem_id="edit-history", elem_classes=["pixelated"])
    gr.Examples(edit_examples(), inputs=[source, instruction], label="Examples")

    edit = dict(fn=gpu(demo.edit), inputs=[source, instruction, session, seed, randomize], inputs_kwargs=settings,
                outputs=[result, session, history, seed], show_progress_on=instruction, **MODEL_EVENT)
    run.click(**edit, api_name="edit")
    instruction.submit(**edit, api_visibility="private")
    keep.click(demo.keep_editing, result, source, api_name="keep_editing")
    back.click(demo.back, [source, session], [source, session], api_name="back")
    history.select(demo.pick_version, session, source, api_visibility="private")
    source.change(demo.new_input, [source, session], [session, history], api_visibility="private")


def build(demo: Demo) -> gr.Blocks:
    with gr.Blocks(title="Transfusion", analytics_enabled=False, delete_cache=CACHE_CLEANUP) as blocks:
        gr.Markdown("# Transfusion\nOne transformer that writes text and draws pictures "
                    "(Zhou et al. 2024), trained from scratch on ShapesWorld: see **About** for what it knows.")
        with gr.Tab("Chat", elem_id="tab-chat"):
            chat_tab(demo)
        with gr.Tab("Editor", elem_id="tab-editor"):
            editor_tab(demo)
        with gr.Tab("About", elem_id="tab-about"):
            gr.Markdown(demo.about())
    return blocks


def main(argv=None, prog: str | None = None) -> None:
    """Parse the command line (`argv`, default sys.argv) and serve the demo until stopped."""
    args = parse_args(argv, prog)
    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("transfusion").setLevel(logging.INFO)
    try:
        demo = Demo.load(args.checkpoint, args.device, args.quantization, args.time_limit or None, args.stream_interval)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"{prog or 'transfusion-demo'}: {e}") from None
    # no allowed_paths: Gradio serves only its own cache (uploads, and the pictures the app returns)
    build(demo).queue(max_size=args.max_queue).launch(
        server_name=args.host, server_port=args.port, share=True if args.share else None,
        max_file_size=args.max_file_size, show_error=True, theme=THEME, css=CSS)

