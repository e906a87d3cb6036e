"""``client.imports: bulk contact imports with transactions``."""

from __future__ import annotations

from ._base import Resource

__all__ = ["ImportsResource"]


class ImportsResource(Resource):
    """Not implemented yet."""
