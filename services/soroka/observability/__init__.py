"""Observability shared by every service: JSON logs, traces across stream hops, health and metrics."""
