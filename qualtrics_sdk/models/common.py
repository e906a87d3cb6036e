"""Account-level models: the authenticated user and directories."""

from __future__ import annotations

import attrs

from .._convert import wire_field
from ._base import Model

__all__ = ["DeduplicationCriteria", "Directory", "WhoAmI"]


@attrs.frozen(kw_only=True)
class WhoAmI(Model):
    """The user behind the credentials (``GET /whoami``).

    ``datacenter`` is the brand's home datacenter: compare it with the one you configured.
    """

    user_id: str | None = None
    user_name: str | None = None
    brand_id: str | None = None
    account_type: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    datacenter: str | None = None


@attrs.frozen(kw_only=True)
class DeduplicationCriteria(Model):
    """Which fields a directory uses to merge a new contact into an existing one."""

    email: bool = False
    first_name: bool = False
    last_name: bool = False
    external_data_reference: bool = False
    phone: bool = False


@attrs.frozen(kw_only=True)
class Directory(Model):
    """An XM Directory ("pool", id ``POOL_...``)."""

    id: str = wire_field(wire="directoryId", aliases=("id",))
    name: str | None = None
    contact_count: int | None = None
    is_default: bool | None = None
    deduplication_criteria: DeduplicationCriteria | None = None
