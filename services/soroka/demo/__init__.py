"""`soroka demo` and `soroka up`: the whole platform as supervised local processes."""
