"""``client.workflows: JSON-event triggers and workflow management``."""

from __future__ import annotations

from ._base import Resource

__all__ = ["WorkflowsResource"]


class WorkflowsResource(Resource):
    """Not implemented yet."""
