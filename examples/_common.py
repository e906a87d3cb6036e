"""Shared by the example scripts: build a client from the environment or the command line.

Credentials come from the environment (``QUALTRICS_API_TOKEN``), never from the command line, where
they would end up in shell history and process listings. The host is ``--base-url`` /
``QUALTRICS_BASE_URL`` (a proxy, the fake server) or else ``QUALTRICS_DATACENTER``.
"""

from __future__ import annotations

import argparse
import os

from qualtrics_sdk import QualtricsClient


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--base-url`` (default ``QUALTRICS_BASE_URL``) to a script's arguments."""
    parser.add_argument(
        "--base-url",
        default=os.environ.get("QUALTRICS_BASE_URL"),
        help="explicit origin such as http://127.0.0.1:8765 (default: QUALTRICS_BASE_URL; "
        "otherwise QUALTRICS_DATACENTER selects https://<datacenter>.qualtrics.com)",
    )


def make_client(args: argparse.Namespace) -> QualtricsClient:
    """A client for ``args.base_url`` or the datacenter; the token comes from the environment."""
    return QualtricsClient(base_url=args.base_url or None)
