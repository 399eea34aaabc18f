"""Train the image autoencoder: `python -m transfusion.train_vae --out runs/vae`.

Reconstruction (mean squared error on pixels in [-1, 1]) plus a small KL term that keeps the
latent space smooth. At the end the latent scaling factor is measured (1 / std of the latents,
as Stable Diffusion does) and the EMA weights are saved in diffusers' format to `<out>/vae`,
which the transformer's training then uses, frozen.

`--kind vq` trains the discrete arm's image tokenizer instead (`chameleon/vq.py`): the same
encoder and decoder, the same data and schedule, the KL term replaced by the commitment loss;
saved to `<out>/vq`. Its log also shows the share of the codebook each batch used.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch import nn

from .autoencoder import save_autoencoder
from .config import VAEConfig
from .training.grid import save_grid
from .training.loop import LoopSettings, TrainLoop, make_accelerator, micro_batch_indices, step_seed
from .training.schedule import adamw, warmup_cosine
from .training.sources import make_source
from .vae import build_vae, decode, encode, to_pil, to_tensor

# Images no run trains on (ShapesWorld's data is an endless stream indexed by step): the sample
# grids show the batch of step SAMPLE_STEP, the scaling factor is measured from index SCALE_INDEX on.
SAMPLE_STEP = 10**6
SCALE_INDEX = 10**7
KINDS = ("kl", "vq")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path,
                   help="JSON file of VAEConfig fields, and codebook_size for --kind vq (default: the built-in VAEConfig)")
    p.add_argument("--data", default="shapesworld", help="'shapesworld' or a folder of the folder format (transfusion/folder/format.py)")
    p.add_argument("--out", type=Path, required=True, help="output folder: state, log.jsonl, samples, vae/")
    p.add_argument("--init-from", type=Path, default=None,
                   help="warm start: a saved VAE folder (diffusers format) of the same --config, its weights only")
    p.add_argument("--steps", type=int, default=3000, help="optimizer steps in all (a resumed run goes on to this)")
    p.add_argument("--batch-size", type=int, default=32, help="images per micro-batch per process")
    p.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    p.add_argument("--warmup", type=int, default=100, help="warm-up steps")
    p.add_argument("--kind", choices=KINDS, default="kl",
                   help="'kl': the VAE of Transfusion; 'vq': the vector-quantised tokenizer of the discrete (Chameleon) arm")
    p.add_argument("--kl-weight", type=float, default=1e-6, help="weight of the KL term")
    p.add_argument("--commit-weight", type=float, default=1.0,
                   help="weight of the VQ-VAE loss (codebook and commitment terms, --kind vq)")
    p.add_argument("--ema-decay", type=float, default=0.999, help="EMA decay of the weights that are saved")
    p.add_argument("--precision", choices=["no", "bf16", "fp16"], default="no", help="mixed precision (autocast)")
    p.add_argument("--seed", type=int, default=0, help="seed of data, initialisation and noise")
    p.add_argument("--log-every", type=int, default=20, help="steps between log lines")
    p.add_argument("--save-every", type=int, default=500, help="steps between saves of the resumable state")
    p.add_argument("--sample-every", type=int, default=500, help="steps between reconstruction grids (0: never)")
    p.add_argument("--resume", action="store_true", help="continue from <out>/state")
    p.add_argument("--time-limit", type=float, default=0.0, help="minutes of wall time, then save and stop (0: none)")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    accelerator = make_accelerator(args.precision)
    torch.manual_seed(args.seed)
    config, make = model_maker(args)
    vae = make()
    if args.init_from:
        vae.vae.load_state_dict(warm_start_weights(args.init_from, config))
    optimizer = adamw(vae, args.lr, weight_decay=0.0)
    scheduler = warmup_cosine(optimizer, args.warmup, args.steps)
    settings = LoopSettings(out=args.out, steps=args.steps, grad_accum=args.grad_accum, ema_decay=args.ema_decay,
                            log_every=args.log_every, save_every=args.save_every,
                            sample_every=args.sample_every, resume=args.resume,
                            time_limit=args.time_limit)
    loop = TrainLoop(accelerator, vae, optimizer, scheduler, settings, unit="images")
    source = make_source(args.data, args.seed)
    rank, world = accelerator.process_index, accelerator.num_processes

    def images(step: int, micro: int) -> torch.Tensor:
        batch = [source.image(i) for i in micro_batch_indices(step, micro, rank, world, args.batch_size, args.grad_accum)]
        return to_tensor(batch, config.image_size).to(accelerator.device)

    def loss_fn(step: int, micro: int):
        x = images(step, micro)
        if args.kind == "vq":
            recon, vq_loss, used = loop.model(x)
            mse = (recon.float() - x).pow(2).mean()
            return mse + args.commit_weight * vq_loss, {"mse": mse.detach(), "vq": vq_loss.detach(), "codes_used": used}, len(x)
        g = torch.Generator().manual_seed(step_seed(args.seed, step, micro, rank))
        recon, kl = loop.model(x, torch.randn(x.shape[0], config.latent_channels, config.latent_size,
                                              config.latent_size, generator=g).to(x))
        mse = (recon.float() - x).pow(2).mean()
        return mse + args.kl_weight * kl, {"mse": mse.detach(), "kl": kl.detach()}, len(x)

    def on_sample(step: int) -> None:
        model = loop.ema_model(make)
        x = images(SAMPLE_STEP, 0)[:8]  # the same 8 images every time: original | reconstruction
        pairs = zip(to_pil(x), to_pil(model.reconstruct(x)))
        save_grid([im for pair in pairs for im in pair], 4, args.out / "samples" / f"step{step:06d}.png")

    loop.run(loss_fn, on_sample)
    if accelerator.is_main_process:
        final = loop.ema_model(make)
        if args.kind == "vq":
            save_autoencoder(final.vq, args.out / "vq")
            accelerator.print(f"saved {args.out / 'vq'}")
            return
        scale = measure_scaling_factor(final.vae, [source.image(SCALE_INDEX + i) for i in range(256)], config.image_size)
        final.vae.register_to_config(scaling_factor=scale)
        save_autoencoder(final.vae, args.out / "vae")
        accelerator.print(f"saved {args.out / 'vae'} (scaling factor {scale:.4f})")


def model_maker(args):
    """The config of --config and a maker of the training module of --kind."""
    if args.kind == "vq":
        from .chameleon.vq import VQConfig, VQReconstruction, build_vq

        config = VQConfig.from_json(args.config) if args.config else VQConfig()
        if args.init_from:
            raise SystemExit("--init-from is for --kind kl")
        return config, lambda: VQReconstruction(build_vq(config))
    config = VAEConfig(**json.loads(args.config.read_text())) if args.config else VAEConfig()
    return config, lambda: Reconstruction(build_vae(config))


def warm_start_weights(folder: Path, config: VAEConfig) -> dict:
    """The weights of a saved VAE, checked to be of `config`'s shape (ValueError otherwise)."""
    from diffusers import AutoencoderKL

    saved = AutoencoderKL.from_pretrained(folder, use_safetensors=True, local_files_only=True)
    want = (config.image_size, config.latent_channels, tuple(config.block_out_channels), config.layers_per_block,
            config.norm_num_groups)
    got = (saved.config.sample_size, saved.config.latent_channels, tuple(saved.config.block_out_channels),
           saved.config.layers_per_block, saved.config.norm_num_groups)
    if want != got:
        raise ValueError(f"{folder}: a VAE of (size, latent channels, blocks, layers, norm groups) {got}, "
                         f"but --config asks for {want}")
    return saved.state_dict()


class Reconstruction(nn.Module):
    """The VAE's training forward in one call (so that DDP sees it): image and the noise of the
    posterior sample -> (reconstruction, KL per image element)."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        posterior = self.vae.encode(x).latent_dist
        z = posterior.mean + posterior.std * noise  # (B, C, h, w), reparameterised
        return self.vae.decode(z).sample, posterior.kl().mean() / x[0].numel()

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return decode(self.vae, encode(self.vae, x))


@torch.no_grad()
def measure_scaling_factor(vae, images, size: int) -> float:
    """1 / std of the unscaled latent means, so the diffusion model sees unit variance."""
    vae.register_to_config(scaling_factor=1.0)
    z = encode(vae, to_tensor(images, size))
    return float(1.0 / z.std())


if __name__ == "__main__":
    main()
