"""Soroka's Kubernetes operator: Strategy custom resources → the services that run them."""
