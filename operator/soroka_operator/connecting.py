"""Kubernetes credentials, loaded explicitly (the client reads $KUBECONFIG only at import time)."""

from __future__ import annotations

import os
from typing import Any

import kopf
import kubernetes


def client_configuration() -> Any:
    """A fresh `kubernetes.client.Configuration`: $KUBECONFIG if set, else in-cluster, else ~/.kube/config."""
    config = kubernetes.client.Configuration()
    path = os.environ.get("KUBECONFIG")
    if path:
        kubernetes.config.load_kube_config(config_file=path, client_configuration=config)  # type: ignore[no-untyped-call]
        return config
    try:
        kubernetes.config.load_incluster_config(client_configuration=config)  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config(client_configuration=config)  # type: ignore[no-untyped-call]
    return config


def connection_info(config: Any) -> kopf.ConnectionInfo:
    """The same credentials in kopf's terms, so kopf and our client talk to one server as one user."""
    header = config.get_api_key_with_prefix("BearerToken") or config.get_api_key_with_prefix("authorization")
    scheme, token = None, None
    if header:
        parts = header.split(" ", 1)
        scheme, token = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
    return kopf.ConnectionInfo(
        server=config.host,
        ca_path=config.ssl_ca_cert,
        insecure=not config.verify_ssl,
        username=config.username or None,
        password=config.password or None,
        scheme=scheme,
        token=token,
        certificate_path=config.cert_file,
        private_key_path=config.key_file,
    )


def api_client(config: Any) -> Any:
    return kubernetes.client.ApiClient(configuration=config)
