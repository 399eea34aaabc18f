"""VAE latents of training images, computed once per distinct image (the VAE is frozen).

ShapesWorld draws the same one-object scenes again and again (there are 1,728 of them), and
edit and chat documents repeat their images; an LRU cache keyed by the image's bytes turns
those repeats into look-ups. Misses are encoded in one batch.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import torch
from PIL import Image

from ..vae import encode, to_tensor


class LatentCache:
    """`encoder(vae, images (N, 3, S, S))`: `vae.encode` (latents), or the discrete arm's
    `chameleon.vq.image_codes` (code indices (N, L))."""

    def __init__(self, vae, image_size: int, capacity: int = 50_000, encoder=encode):
        self.vae, self.image_size, self.capacity, self.encoder = vae, image_size, capacity, encoder
        self.store: OrderedDict[bytes, torch.Tensor] = OrderedDict()
        self.hits = self.misses = 0

    @staticmethod
    def key(image: Image.Image) -> bytes:
        return hashlib.blake2b(image.tobytes() + repr((image.size, image.mode)).encode(), digest_size=16).digest()

    @torch.no_grad()
    def __call__(self, images: list[Image.Image]) -> torch.Tensor:
        """PIL images -> latents (N, C, h, w) (or codes (N, L)) on the CPU."""
        keys = [self.key(im) for im in images]
        missing = {k: im for k, im in zip(keys, images) if k not in self.store}
        if missing:
            device = next(self.vae.parameters()).device
            z = self.encoder(self.vae, to_tensor(list(missing.values()), self.image_size).to(device)).cpu()
            z = z.float() if z.is_floating_point() else z
            for k, latent in zip(missing, z):
                self.store[k] = latent
        self.misses += len(missing)
        self.hits += len(images) - len(missing)
        out = []
        for k in keys:
            self.store.move_to_end(k)
            out.append(self.store[k])
        while len(self.store) > self.capacity:
            self.store.popitem(last=False)
        return torch.stack(out)
