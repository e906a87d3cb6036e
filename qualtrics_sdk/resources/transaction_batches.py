"""``client.transaction_batches: transaction batches``."""

from __future__ import annotations

from ._base import Resource

__all__ = ["TransactionBatchesResource"]


class TransactionBatchesResource(Resource):
    """Not implemented yet."""
