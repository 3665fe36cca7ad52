"""Coach: per-rep and per-team metrics turned into coaching insights; actual productivity back to Design."""
