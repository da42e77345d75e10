"""What can go wrong talking to Binance, each error saying whether retrying later can help."""

from __future__ import annotations


class BinanceError(Exception):
    """Base of the adapter's errors."""

    temporary: bool = False


class BinancePayloadError(BinanceError):
    """A response body is not what the schema says (bad JSON, missing field, wrong type).

    Temporary from the caller's view: a later request usually returns a good payload; nothing was consumed.
    """

    temporary = True


class BinanceClientError(BinanceError):
    """Binance rejected the request (4xx other than 429/418): fix the request, retrying will not help."""

    def __init__(self, status: int, code: int, msg: str, path: str = "") -> None:
        super().__init__(f"Binance {status} {code} on {path or 'request'}: {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.path = path


class BinanceUnavailableError(BinanceError):
    """Retries ran out (5xx, timeouts, rate limits): try again later."""

    temporary = True
