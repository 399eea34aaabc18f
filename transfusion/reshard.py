"""Copy a checkpoint folder, its weights in one file or in shards (see shards.py).

    python -m transfusion.reshard runs/stage2/model assets/model --max-shard-mb 9
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from .app.world import WORLD_CARD
from .checkpoint import Checkpoint
from .folder.app import EXAMPLES


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Copy a checkpoint folder, its weights in one file or in shards.")
    p.add_argument("src", help="checkpoint folder")
    p.add_argument("dst", help="folder to write (may be src itself)")
    p.add_argument("--max-shard-mb", type=float, default=None, help="largest weight file in MB (default: one file)")
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
    ckpt.save_pretrained(dst, args.max_shard_mb)
    print(f"wrote {dst}: " + ", ".join(sorted(f.name for f in dst.iterdir())))


if __name__ == "__main__":
    main()
