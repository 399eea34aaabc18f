"""The public API: `TransfusionPipeline`. The app, the evaluator and every script use only this.

    pipe = TransfusionPipeline.from_pretrained()          # the built-in model in assets/model
    img = pipe.text_to_image("a small red circle in the center on a white background", seed=0)
    txt = pipe.caption(img)
    ans = pipe.answer(img, "how many shapes are there?")
    out = pipe.edit(img, "make the red circle blue", seed=0)
    reply = pipe.chat([{"role": "user", "content": "draw a large blue square"}], seed=0)

Images of any size or mode are accepted (converted to the model's RGB size). Every call takes
the settings of `generation_config.Settings` as keyword arguments; those not given are the
checkpoint's defaults (`pipe.defaults`: the library's, or its `generation_config.json`). The
same seed gives the same output.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from .checkpoint import Checkpoint
from .documents import latents_for_documents, parts_of
from .generation import draw_images, generate
from .generation_config import Settings
from .autoencoder import from_model_images, to_model_images
from .vae import to_pil, to_tensor

BUILT_IN = Path(__file__).resolve().parent.parent / "assets" / "model"
DESCRIBE = "describe this image"


class TransfusionPipeline:
    def __init__(self, checkpoint: Checkpoint, quantization: str | None = None):
        self.checkpoint = checkpoint
        self.quantization = quantization

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device: str | None = None,
                        quantization: str | None = None, compiled: bool = False) -> "TransfusionPipeline":
        """Load a checkpoint folder (default: the built-in model). `device` defaults to CUDA
        where present; `quantization="int8"` swaps the transformer's linear layers for 8-bit
        ones, with the kernel of the device (`quantize.kernel_for`: bitsandbytes on CUDA,
        PyTorch's own int8 matmul on the CPU). `compiled` runs the decoding and denoising steps
        through torch.compile (the first calls wait for the compiler)."""
        if quantization not in (None, "int8"):
            raise ValueError(f"quantization must be None or 'int8', got {quantization!r}")
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        ckpt = Checkpoint.from_pretrained(path or BUILT_IN, device="cpu")
        ckpt.model.to(device)  # before quantizing: bitsandbytes keeps its int8 state where it quantized
        ckpt.vae.to(device)
        if quantization == "int8":
            from .quantize import kernel_for, quantize_int8

            quantize_int8(ckpt.model, kernel_for(device))
        ckpt.compiled = compiled
        return cls(ckpt, quantization)

    @property
    def defaults(self) -> Settings:
        """The settings a call uses for every keyword it is not given."""
        return self.checkpoint.defaults

    def settings(self, **overrides) -> Settings:
        """The checkpoint's defaults with these keyword settings in their place."""
        return self.defaults.with_overrides(**overrides)

    @property
    def device(self) -> torch.device:
        return next(self.checkpoint.model.parameters()).device

    # images <-> latents

    def _latents(self, images: list[Image.Image]) -> torch.Tensor:
        for im in images:
            if not isinstance(im, Image.Image):
                raise TypeError(f"expected a PIL image, got {type(im).__name__}")
        x = to_tensor(images, self.checkpoint.config.vae.image_size).to(self.device)
        return to_model_images(self.checkpoint.vae, x)  # latents, or the Chameleon arm's codes (N, L)

    def _images(self, latents: torch.Tensor) -> list[Image.Image]:
        return to_pil(from_model_images(self.checkpoint.vae, latents))

    def _with_latents(self, messages: list[dict]) -> list[dict]:
        """Validate a chat and replace its images by latents (one VAE call for all)."""
        if not isinstance(messages, list) or not messages:
            raise ValueError("messages must be a non-empty list of {'role', 'content'} dicts")
        parts = [parts_of(m) for m in messages]
        for p in (p for ps in parts for p in ps):
            if not isinstance(p, (str, Image.Image)):
                raise TypeError(f"a message part is a string or a PIL image, got {type(p).__name__}")
        if messages[-1]["role"] != "user":
            raise ValueError("the last message must be the user's: the model replies to it")
        return latents_for_documents([messages], self._latents)[0]

    # the calls

    @torch.no_grad()
    def text_to_image(self, prompt: str | list[str], seed: int = 0, **settings) -> Image.Image | list[Image.Image]:
        """One image per prompt, batched; image k of a list uses seed + k."""
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if not prompts or not all(isinstance(p, str) and p.strip() for p in prompts):
            raise ValueError("a prompt must be a non-empty string")
        chats = [[{"role": "user", "content": p}, {"role": "assistant", "content": []}] for p in prompts]
        x, _, _ = draw_images(self.checkpoint, chats, self.settings(**settings), [_seed(seed) + k for k in range(len(prompts))])
        images = self._images(x)
        return images[0] if isinstance(prompt, str) else images

    def edit(self, image: Image.Image, instruction: str, seed: int = 0, **settings) -> Image.Image:
        """The image changed as the instruction says, with text and image guidance."""
        return self.edit_with_progress(image, instruction, seed, None, **settings)

    @torch.no_grad()
    def caption(self, image: Image.Image, **settings) -> str:
        return self._text([{"role": "user", "content": [image, DESCRIBE]}], settings)

    @torch.no_grad()
    def answer(self, image: Image.Image, question: str, **settings) -> str:
        if not isinstance(question, str) or not question.strip():
            raise ValueError("a question must be a non-empty string")
        return self._text([{"role": "user", "content": [image, question]}], settings)

    def _text(self, messages: list[dict], settings: dict) -> str:
        parts = generate(self.checkpoint, self._with_latents(messages), self.settings(**settings), allow_images=False)
        return "".join(p for p in parts if isinstance(p, str)).strip()

    @torch.no_grad()
    def chat(self, messages: list[dict], seed: int = 0, on_token=None, on_step=None, **settings) -> list[str | Image.Image]:
        """The assistant's next turn: its parts in order, strings and PIL images. For streaming:
        `on_token(id)` sees every sampled token as it is decoded (`tokenizer.boi_id` marks the
        start of an image), `on_step(i, total, latents)` every denoising step of an image
        (`preview(latents)` turns those latents into a picture)."""
        parts = generate(self.checkpoint, self._with_latents(messages), self.settings(**settings), _seed(seed),
                         on_token=on_token, on_step=on_step)
        return [p if isinstance(p, str) else self._images(p[None])[0] for p in parts]

    @torch.no_grad()
    def edit_with_progress(self, image: Image.Image, instruction: str, seed: int = 0, on_step=None, **settings) -> Image.Image:
        """`edit`, calling `on_step(i, total, latents)` after every denoising step."""
        if not isinstance(instruction, str) or not instruction.strip():
            raise ValueError("an instruction must be a non-empty string")
        latent = self._latents([image])[0]
        chat = [{"role": "user", "content": [latent, instruction]}, {"role": "assistant", "content": []}]
        x, _, _ = draw_images(self.checkpoint, [chat], self.settings(**settings), [_seed(seed)], on_step)
        return self._images(x)[0]

    @torch.no_grad()
    def preview(self, latents: torch.Tensor) -> Image.Image:
        """A picture of partly denoised latents (C, h, w) or (1, C, h, w), for progress displays."""
        return self._images(latents.reshape(1, *latents.shape[-3:]))[0]


def _seed(seed) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ValueError(f"seed must be an integer from 0 to 2**63 - 1, got {seed!r}")
    return seed
