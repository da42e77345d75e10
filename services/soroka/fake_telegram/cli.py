"""`soroka fake-telegram`: run the fake Telegram Bot API server (uvicorn) for the demo and manual tests."""

from __future__ import annotations

import argparse
import logging
import socket

from soroka.fake_telegram.app import create_app
from soroka.fake_telegram.state import TOKEN_RE, FakeTelegramConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port (default 8081)")
    parser.add_argument(
        "--per-chat-per-minute", type=int, default=20, help="messages per chat per minute (20)"
    )
    parser.add_argument("--global-per-second", type=int, default=30, help="messages per second overall (30)")
    parser.add_argument(
        "--token", default=None, help="the only accepted bot token (default: any well-formed)"
    )
    parser.add_argument(
        "--chat",
        action="append",
        default=None,
        help="a known chat id or @username (repeat; default: any chat)",
    )


def config_from_args(args: argparse.Namespace) -> FakeTelegramConfig:
    if args.token is not None and not TOKEN_RE.match(args.token):
        raise SystemExit("soroka fake-telegram: --token must look like <digits>:<letters, digits, _ or ->")
    if args.per_chat_per_minute < 1 or args.global_per_second < 1:
        raise SystemExit("soroka fake-telegram: rate limits must be >= 1")
    return FakeTelegramConfig(
        token=args.token,
        chats=frozenset(args.chat) if args.chat else None,
        per_chat_limit=args.per_chat_per_minute,
        global_per_second=args.global_per_second,
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(config_from_args(args))
    logging.getLogger("soroka.fake_telegram").info(
        "fake Telegram Bot API on http://%s:%d (per chat %d/min, global %d/s)",
        args.host, args.port, args.per_chat_per_minute, args.global_per_second,
    )  # fmt: skip
    # No access log: request paths carry the bot token; the app logs one line per post instead.
    config = uvicorn.Config(app, access_log=False, log_level="info")
    uvicorn.Server(config).run(sockets=[listening_socket(args.host, args.port)])
    return 0


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound socket with TCP_NODELAY (inherited by accepted connections; uvicorn does not set it, and
    Nagle's algorithm with delayed ACKs otherwise adds ~40 ms to every small request/response)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock
