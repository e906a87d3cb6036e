"""``client.contacts: directory contacts, search and upsert``."""

from __future__ import annotations

from ._base import Resource

__all__ = ["ContactsResource"]


class ContactsResource(Resource):
    """Not implemented yet."""
