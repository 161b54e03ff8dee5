"""Inference helpers that run trained models outside the training loop (decoding, generation)."""
