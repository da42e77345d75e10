"""Paper trader: a reference consumer of the trade queue that simulates positions (core in ``paper``)."""

from soroka.trader.paper import Action, ClosedTrade, Counters, Decision, PaperBook, Position, trade_id_for

__all__ = ["Action", "ClosedTrade", "Counters", "Decision", "PaperBook", "Position", "trade_id_for"]
