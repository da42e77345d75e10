"""`python -m soroka_operator`: run the operator (all namespaces by default, with peering)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import kopf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m soroka_operator", description=__doc__)
    parser.add_argument("-n", "--namespace", action="append", default=[], help="watch only these namespaces")
    parser.add_argument("--peering", default=os.environ.get("SOROKA_PEERING", "soroka"), help="peering name")
    parser.add_argument("--standalone", action="store_true", help="run without peering (one replica only)")
    parser.add_argument("--liveness", default="http://0.0.0.0:8080/healthz", help="liveness endpoint URL")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    kopf.configure(verbose=args.verbose, log_format=kopf.LogFormat.JSON)
    from soroka_operator import handlers  # noqa: F401  (registers the handlers)

    asyncio.run(
        kopf.operator(
            clusterwide=not args.namespace,
            namespaces=args.namespace,
            peering_name=args.peering,
            standalone=args.standalone,
            liveness_endpoint=args.liveness,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
