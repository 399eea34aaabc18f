"""The demo app's package: its layout and wiring (`demo.py`, which `app.py` and the command
`transfusion-demo` run) and everything that relies on.

    demo       the Blocks: the chat, editor and About tabs, their events, the command line
    runtime    where the model runs (CUDA: int8; CPU: fp32 or int8 by flag), ZeroGPU's @spaces.GPU
    handlers   `Demo`: the event handlers around the one shared pipeline and its lock
    chat       the Chatbot's history <-> pipeline messages, retry/undo, one streamed turn
    context    fitting a conversation into the model's context
    editor     the edit session: every version, keep editing, going back
    stream     a blocking call with callbacks -> a generator (worker thread + queue)
    settings   slider ranges and hints, UI values -> `generation_config.Settings` kwargs, seeds
    inputs     the picture, seed and slider components with their checks
    pictures   reading users' pictures: refusing bad files, any mode to RGB
    text       cleaning users' text (control characters, length)
    about      the About text: what the model knows, its size, device, scores
    world      what a checkpoint's world shows in the app (examples, placeholders, About),
               read from its world.json; each world's own module builds it
    files      pictures handed to Gradio as files written once
"""
