"""Analysis: Break-of-Structure detection, scoring and the filter chain (pure functions, no I/O)."""
