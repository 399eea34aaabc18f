"""The Transfusion transformer (paper section 2): one set of weights for text and images.

Text tokens go in through an embedding and out through the LM head. Image latents go in
through the patch encoder (one token per p x p patch, with the diffusion timestep) and out
through the patch decoder, which predicts the diffusion target (the noise for the paper's
epsilon objective). In between: a pre-norm transformer with RoPE, RMSNorm and SwiGLU whose
attention mask is causal for text and bidirectional inside each image (`mask.py`).

Shapes: B rows of T tokens of width D, H heads; N images, each L = (h/p)*(w/p) patches.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import TransfusionConfig
from .patch import build_patch_layers


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return (x * self.weight).to(dtype)


def rope_tables(head_dim: int, max_len: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the rotary angles, each (max_len, head_dim / 2)."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2).float() / head_dim)
    angles = torch.outer(torch.arange(max_len).float(), inv_freq)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs of channels of x (B, H, T, hs) by position; cos, sin are (B, 1, T, hs/2)."""
    x1, x2 = x.float().unflatten(-1, (-1, 2)).unbind(-1)  # each (B, H, T, hs/2)
    out = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
    return out.flatten(-2).type_as(x)


class Attention(nn.Module):
    def __init__(self, config: TransfusionConfig):
        super().__init__()
        self.n_heads = config.n_heads
        self.qkv = nn.Linear(config.dim, 3 * config.dim, bias=False)
        self.proj = nn.Linear(config.dim, config.dim, bias=False)
        head_dim = config.dim // config.n_heads
        self.q_norm = RMSNorm(head_dim, config.norm_eps) if config.qk_norm else None
        self.k_norm = RMSNorm(head_dim, config.norm_eps) if config.qk_norm else None

    def forward(self, x, cos, sin, mask, cache=None) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_heads, D // self.n_heads).permute(2, 0, 3, 1, 4)  # each (B, H, T, hs)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:  # keys and values of the tokens before these come from the KV cache
            k, v = cache(k, v)  # each (B, H, S + T, hs)
        if isinstance(mask, torch.Tensor):  # dense boolean (B, 1, T, T): the CPU path
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        else:  # a flex-attention BlockMask: the CUDA path
            y = _flex_attention(q.is_cuda)(q, k, v, block_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(B, T, D))  # (B, T, D)


@functools.cache
def _flex_attention(compiled: bool):
    """flex_attention, compiled into a fused kernel where it can be (CUDA)."""
    from torch.nn.attention.flex_attention import flex_attention

    return torch.compile(flex_attention, dynamic=False) if compiled else flex_attention


class SwiGLU(nn.Module):
    def __init__(self, config: TransfusionConfig):
        super().__init__()
        self.gate_up = nn.Linear(config.dim, 2 * config.hidden_dim, bias=False)
        self.down = nn.Linear(config.hidden_dim, config.dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, config: TransfusionConfig):
        super().__init__()
        self.attn_norm = RMSNorm(config.dim, config.norm_eps)
        self.attn = Attention(config)
        self.mlp_norm = RMSNorm(config.dim, config.norm_eps)
        self.mlp = SwiGLU(config)

    def forward(self, x, cos, sin, mask, cache=None) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), cos, sin, mask, cache)
        return x + self.mlp(self.mlp_norm(x))


class Transfusion(nn.Module):
    """Text embedding + LM head, patch encoder + decoder, and the shared transformer."""

    def __init__(self, config: TransfusionConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.token_count, config.dim)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.norm = RMSNorm(config.dim, config.norm_eps)
        self.lm_head = nn.Linear(config.dim, config.token_count, bias=False)
        # the discrete arm's images are tokens: it has no patch layers (nor their parameters)
        self.patch_in, self.patch_out = (None, None) if config.discrete else build_patch_layers(config)
        cos, sin = rope_tables(config.dim // config.n_heads, config.max_seq_len, config.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self._init_weights()

    def _init_weights(self) -> None:
        # GPT-2 style: N(0, 0.02), residual projections scaled down by sqrt(2 * layers) so the
        # residual stream does not grow with depth. Patch-decoder outputs were zeroed in patch.py.
        for name, p in self.named_parameters():
            if name.startswith("patch_"):
                continue
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * self.config.n_layers) if name.endswith(("proj.weight", "down.weight")) else 0.02
                nn.init.normal_(p, std=std)

    def embed_inputs(self, tokens, latents, t, patch_index) -> tuple[torch.Tensor, list]:
        """Token embeddings (B, T, D) with each image's patch vectors in its patch slots,
        and the patch encoder's skips (for the U-Net decoder)."""
        B, T = tokens.shape
        x = self.embed(tokens)  # (B, T, D)
        if not latents.shape[0]:
            return x, []
        patches, skips = self.patch_in(latents, t)  # (N, L, D)
        x = x.view(B * T, -1).index_copy(0, patch_index.flatten(), patches.flatten(0, 1).to(x.dtype))
        return x.view(B, T, -1), skips

    def backbone(self, x, positions, mask, cache=None) -> torch.Tensor:
        """The transformer: (B, T, D) -> normalised hidden states (B, T, D). With a KV cache
        (`kv_cache.KVCache`), x holds only the new tokens and the mask covers cache + new."""
        cos = self.rope_cos[positions][:, None]  # (B, 1, T, hs/2)
        sin = self.rope_sin[positions][:, None]
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, mask, None if cache is None else cache.layer(i))
        return self.norm(x)

    def forward(
        self,
        tokens: torch.Tensor,  # (B, T) text ids; patch slots hold any id (overwritten)
        positions: torch.Tensor,  # (B, T) RoPE position of each token
        mask,  # (B, 1, T, T) bool, or a flex BlockMask
        latents: torch.Tensor,  # (N, C, h, w) noised (or clean) image latents
        t: torch.Tensor,  # (N,) diffusion timestep of each image, 0 = clean
        patch_index: torch.Tensor,  # (N, L) flat index (row * T + column) of each patch slot
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns the LM logits (B, T, V) and the image prediction (N, C, h, w)."""
        B, T = tokens.shape
        x, skips = self.embed_inputs(tokens, latents, t, patch_index)
        x = self.backbone(x, positions, mask)  # (B, T, D)
        logits = self.lm_head(x)  # (B, T, V)
        if not latents.shape[0]:
            return logits, latents
        h = x.reshape(B * T, -1)[patch_index]  # (N, L, D)
        return logits, self.patch_out(h, t, skips)  # (N, C, h, w)

    def num_parameters(self) -> int:
        # an int8 layer on PyTorch's CPU kernel keeps its weights packed, outside parameters()
        packed = sum(m.packed_numel() for m in self.modules() if hasattr(m, "packed_numel"))
        return sum(p.numel() for p in self.parameters()) + packed
