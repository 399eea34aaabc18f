"""Transfusion: one transformer that predicts text tokens and denoises image latents."""
