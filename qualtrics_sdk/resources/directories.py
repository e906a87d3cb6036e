"""``client.directories``: list XM directories."""

from __future__ import annotations

from .._pagination import AsyncPaginator
from ..models.common import Directory
from ._base import Resource

__all__ = ["DirectoriesResource"]


class DirectoriesResource(Resource):
    """XM Directory directories ("pools"). Qualtrics documents only the listing call."""

    def list(self, *, page_size: int | None = None) -> AsyncPaginator[Directory]:
        """List the brand's directories (``GET /directories``), with deduplication criteria.

        Args:
            page_size: Directories per page (Qualtrics' default when ``None``).

        Returns:
            A paginator: ``async for directory in client.directories.list(): ...``.
        """
        return self._paginate(
            "/directories",
            Directory,
            params={"pageSize": page_size, "useNewPaginationScheme": True},
        )
