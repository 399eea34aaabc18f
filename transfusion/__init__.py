"""Transfusion: one transformer that predicts text tokens and denoises image latents."""

from .pipeline import TransfusionPipeline

__all__ = ["TransfusionPipeline"]
