"""The Transfusion demo: a chat that writes and draws, and an instruction-based image editor.

    python app.py                                   # the built-in model, http://127.0.0.1:7860
    python app.py --checkpoint runs/shapesworld/model --quantization int8

The file a Hugging Face Space runs (README front matter); the layout and wiring are in
`transfusion/app/demo.py`, which the installed command `transfusion-demo` runs too.
"""

from transfusion.app.demo import main

if __name__ == "__main__":
    main(prog="app.py")
