"""Sampling from trained or bundled generators: run folders and checkpoints, device and precision, the
two-stage pipeline. Needs models, never the trainer."""
