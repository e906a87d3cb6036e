"""``client.mailing_lists: mailing lists and their contacts``."""

from __future__ import annotations

from ._base import Resource

__all__ = ["MailingListsResource"]


class MailingListsResource(Resource):
    """Not implemented yet."""
