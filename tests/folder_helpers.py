"""A fixture world in the folder format: 9 pictures, recolour edits, colour questions, one held out."""

import json

from PIL import Image, ImageDraw

COLOURS = {"red": (220, 40, 40), "blue": (40, 90, 220), "green": (40, 170, 60)}
SHAPES = ("disc", "square", "bar")


def picture(colour, shape) -> Image.Image:
    im = Image.new("RGB", (32, 32), "white")
    d = ImageDraw.Draw(im)
    box = {"disc": (6, 6, 26, 26), "square": (6, 6, 26, 26), "bar": (4, 12, 28, 20)}[shape]
    (d.ellipse if shape == "disc" else d.rectangle)(box, fill=colour)
    return im


def write_fixture(root, held_out=("green bar",)):
    """9 pictures (3 colours x 3 shapes), recolour edits, colour questions, one held out."""
    (root / "pics").mkdir(parents=True)
    captions, edits, questions = [], [], []
    for colour in COLOURS:
        for shape in SHAPES:
            name = f"pics/{colour}-{shape}.png"
            picture(COLOURS[colour], shape).save(root / name)
            captions.append({"image": name, "caption": f"{colour} {shape}", "prompts": [f"draw a {colour} {shape}"],
                             "attributes": {"shape": shape, "colour": colour}})
            questions.append({"image": name, "question": "what colour is it?", "answer": colour, "kind": "colour"})
            for other in COLOURS:
                if other != colour:
                    edits.append({"source": name, "instruction": f"make it {other}", "target": f"pics/{other}-{shape}.png",
                                  "kind": "recolour"})
    (root / "captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in captions))
    (root / "edits.jsonl").write_text("".join(json.dumps(r) + "\n" for r in edits))
    (root / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in questions))
    (root / "held_out.txt").write_text("".join(f"pics/{h.replace(' ', '-')}.png\n" for h in held_out))
    return root
