"""Evaluation: post-signal performance of detected events (pure functions, no I/O)."""
