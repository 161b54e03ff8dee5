"""Tasks: loss, metrics, a baseline, predictions and artifacts. One file each."""
