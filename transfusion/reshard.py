"""Copy a checkpoint folder, its weights in one file or in shards (see shards.py).

    python -m transfusion.reshard runs/stage2/model assets/model --max-shard-mb 9

`--dtype float16` stores the transformer's weights at half the size (a model of 18M parameters
is 73 MB in float32, more than a device call brings back or carries); loading turns them back
into the model's float32, so they run as before, rounded to float16's 11 significant bits. The
autoencoder stays as it is.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

from .app.world import WORLD_CARD
from .checkpoint import Checkpoint
from .folder.app import EXAMPLES


DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Copy a checkpoint folder, its weights in one file or in shards.")
    p.add_argument("src", help="checkpoint folder")
    p.add_argument("dst", help="folder to write (may be src itself)")
    p.add_argument("--max-shard-mb", type=float, default=None, help="largest weight file in MB (default: one file)")
    p.add_argument("--dtype", choices=DTYPES, default=None,
                   help="store the transformer's weights in this type (default: as they are)")
    args = p.parse_args(argv)
    src, dst = Path(args.src), Path(args.dst)
    ckpt = Checkpoint.from_pretrained(src)
    dst.mkdir(parents=True, exist_ok=True)
    if dst.resolve() != src.resolve():
        # the model card, the world card, the example pictures and any notice travel with the weights
        for extra in [*src.glob("*.md"), src / WORLD_CARD, src / "NOTICE"]:
            if extra.exists():
                shutil.copyfile(extra, dst / extra.name)
        if (src / EXAMPLES).is_dir():
            shutil.copytree(src / EXAMPLES, dst / EXAMPLES, dirs_exist_ok=True)
    if args.dtype:
        ckpt.model.to(DTYPES[args.dtype])
    ckpt.save_pretrained(dst, args.max_shard_mb)
    print(f"wrote {dst}: " + ", ".join(sorted(f.name for f in dst.iterdir())))


if __name__ == "__main__":
    main()
