"""The demo app's package: everything `app.py` (layout and wiring only) relies on.

    runtime    where the model runs (CUDA: int8; CPU: fp32 or int8 by flag), ZeroGPU's @spaces.GPU
    handlers   `Demo`: the event handlers around the one shared pipeline and its lock
    chat       the Chatbot's history <-> pipeline messages, retry/undo, one streamed turn
    editor     the edit session: every version, keep editing, going back
    stream     a blocking call with callbacks -> a generator (worker thread + queue)
    settings   slider ranges and hints, UI values -> `generation_config.Settings` kwargs, seeds
    about      the About text: what the model knows, its size, device, scores
    examples   prompts, instructions and pictures that suit the built-in model
    files      pictures handed to Gradio as files written once
"""
