"""What the training tests share: a tiny VAE trained by the real command, and the flags of a
tiny Transfusion run."""

import json
from pathlib import Path

from transfusion import train_vae

TINY_VAE_CONFIG = {"block_out_channels": [8, 16, 16], "norm_num_groups": 4}


def train_tiny_vae(out: Path) -> Path:
    """A VAE trained for a few steps by `transfusion.train_vae`; returns its folder."""
    (out / "config.json").write_text(json.dumps(TINY_VAE_CONFIG))
    train_vae.main(["--config", str(out / "config.json"), "--out", str(out / "run"), "--steps", "3",
                    "--batch-size", "4", "--sample-every", "2", "--save-every", "2"])
    return out / "run" / "vae"


def train_args(vae_dir, out, steps, *extra, batch_size: int = 3) -> list[str]:
    return ["--preset", "tiny", "--model", '{"objective": "flow"}', "--vae", str(vae_dir), "--out", str(out),
            "--steps", str(steps), "--batch-size", str(batch_size), "--log-every", "1", "--save-every", "2",
            "--sample-every", "0", "--warmup", "2", "--vocab-size", "320", "--precision", "no", "--eval-cases", "0", *extra]
