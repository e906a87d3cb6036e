"""``client.transactions: contact transactions``."""

from __future__ import annotations

from ._base import Resource

__all__ = ["TransactionsResource"]


class TransactionsResource(Resource):
    """Not implemented yet."""
