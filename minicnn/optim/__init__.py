"""Optimizers and learning-rate schedulers (filled by the layers issue)."""
