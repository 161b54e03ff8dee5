"""The training engine: loop, checkpoints, callbacks, run directory."""
