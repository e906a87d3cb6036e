"""``qualtrics-segment``: run the Segment adapter without writing code.

Commands::

    qualtrics-segment demo                         # the whole product against an embedded fake
    qualtrics-segment replay EVENTS --config CFG   # deliver a file of events (or - for stdin)
    qualtrics-segment serve --config CFG           # the webhook receiver for Segment
    qualtrics-segment check --config CFG           # validate a config and the credentials

Exit status: 0 success (every event delivered or skipped), 1 when an event failed or Qualtrics is
unreachable or refuses the credentials, 2 for usage and config errors (reported before anything is
sent, naming the subscription and field). Only the standard library's ``argparse`` is used, so the
command works from a plain install.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from qualtrics_sdk import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    QualtricsError,
)
from qualtrics_sdk._transport import Hook

from . import service
from ._replay import Outcome, SourceError, SourceItem, deliver, read_source, summarize
from .destination import QualtricsDestination
from .errors import ConfigError

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
SHARED_SECRET_ENV = "SEGMENT_SHARED_SECRET"


class UsageError(Exception):
    """A problem with the command line, the config or the input: exit status 2."""


# ---------------------------------------------------------------------------------------------
# Output helpers


class Progress:
    """A progress bar on a terminal, plain lines otherwise (both on stderr)."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.counts: dict[str, int] = {}
        self.stream = stream
        self.tty = stream.isatty()

    def advance(self, outcomes: Sequence[Outcome]) -> None:
        self.done += len(outcomes)
        for outcome in outcomes:
            self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        self.clear()
        for outcome in outcomes:
            if outcome.status in ("failed", "invalid"):
                print(_problem_line(outcome), file=sys.stdout)
        sys.stdout.flush()
        tally = ", ".join(f"{count} {status}" for status, count in sorted(self.counts.items()))
        if self.tty:
            width = 30
            filled = width * self.done // max(self.total, 1)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} events ({tally})")
        else:
            self.stream.write(f"processed {self.done}/{self.total} events ({tally})\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _problem_line(outcome: Outcome) -> str:
    kind = outcome.status
    if outcome.status == "failed":
        kind = "failed (retryable)" if outcome.retryable else "failed"
    return f"{outcome.label}: {kind}: {outcome.message}"


def _table(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(label) for label, _ in rows) + 3
    return "\n".join(f"  {label + ' ':.<{width}} {value}" for label, value in rows)


def _config_problem(exc: ConfigError) -> str:
    where = []
    if exc.subscription is not None:
        where.append(
            f"subscription {exc.subscription!r}"
            if isinstance(exc.subscription, str)
            else f"subscription #{exc.subscription}"
        )
    if exc.field:
        where.append(f"field {exc.field!r}")
    prefix = f"config error ({', '.join(where)})" if where else "config error"
    return f"{prefix}: {exc}"


# ---------------------------------------------------------------------------------------------
# Config


def load_config(path: str) -> dict[str, Any]:
    """Read a destination config JSON file.

    Raises:
        UsageError: the file is missing, unreadable or not a JSON object.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read config {path}: {exc.strerror or exc}") from None
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"config {path} is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise UsageError(f"config {path} must be a JSON object with settings and subscriptions")
    return config


def _destination_config(config: dict[str, Any], concurrency: int | None) -> dict[str, Any]:
    """The config with ``--concurrency`` applied to ``settings.maxConcurrency``."""
    settings = config.get("settings")
    if concurrency is None or not isinstance(settings, dict):
        return config
    return {**config, "settings": {**settings, "maxConcurrency": concurrency}}


def build_destination(
    config: dict[str, Any],
    *,
    concurrency: int | None = None,
    on_request: Sequence[Hook] = (),
) -> QualtricsDestination:
    """Build the destination, turning config problems into a :class:`UsageError`."""
    options = {"on_request": list(on_request)} if on_request else None
    try:
        return QualtricsDestination.from_config(
            _destination_config(config, concurrency), client_options=options
        )
    except ConfigError as exc:
        raise UsageError(_config_problem(exc)) from None
    except (QualtricsError, ValueError) as exc:
        raise UsageError(f"config error: {exc}") from None


@contextlib.asynccontextmanager
async def open_destination(
    config: dict[str, Any],
    *,
    on_request: Sequence[Hook] = (),
    concurrency: int | None = None,
) -> AsyncIterator[QualtricsDestination]:
    """The configured destination, its client calling ``on_request`` before every request.

    Raises:
        UsageError: the config is invalid (nothing has been sent).
    """
    async with build_destination(
        config, concurrency=concurrency, on_request=on_request
    ) as destination:
        yield destination


def read_events_arg(name: str) -> list[SourceItem]:
    """Read EVENTS (a path, or ``-`` for stdin) into items.

    Raises:
        UsageError: unreadable input.
    """
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read events {name}: {exc.strerror or exc}") from None
    try:
        return read_source(data)
    except SourceError as exc:
        raise UsageError(f"events {name}: {exc}") from None


# ---------------------------------------------------------------------------------------------
# replay


def _write_report(path: str, outcomes: Sequence[Outcome], extra: dict[str, Any]) -> None:
    report = {
        "summary": {**summarize(outcomes), **extra},
        "events": [o.to_dict() for o in outcomes],
    }
    try:
        Path(path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write report {path}: {exc.strerror or exc}") from None


def _summary_rows(counts: dict[str, int]) -> list[tuple[str, str]]:
    duplicates = counts["duplicates"]
    return [
        ("events read", str(counts["events"])),
        (
            "delivered",
            f"{counts['delivered']}"
            + (
                f"  ({duplicates} duplicates already delivered, not sent again)"
                if duplicates
                else ""
            ),
        ),
        ("skipped", f"{counts['skipped']}  (no subscription matched)"),
        (
            "failed",
            f"{counts['failed']}"
            + (f"  ({counts['retryable']} retryable)" if counts["retryable"] else ""),
        ),
        ("invalid", f"{counts['invalid']}  (not valid Segment events)"),
    ]


async def _replay(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    items = read_events_arg(args.events)
    calls: list[str] = []

    def count_call(event: Any) -> None:
        calls.append(event.method)

    started = time.monotonic()
    progress = Progress(len(items), sys.stderr)
    async with open_destination(
        config, on_request=[count_call], concurrency=args.concurrency
    ) as destination:
        outcomes = await deliver(
            destination, items, batch_size=args.batch_size, on_progress=progress.advance
        )
    progress.finish()
    counts = summarize(outcomes)
    elapsed = time.monotonic() - started
    print("Summary")
    print(
        _table(
            [
                *_summary_rows(counts),
                ("Qualtrics API calls", str(len(calls))),
                ("elapsed", f"{elapsed:.2f} s"),
            ]
        )
    )
    if args.report:
        _write_report(
            args.report, outcomes, {"apiCalls": len(calls), "elapsedSeconds": round(elapsed, 3)}
        )
    return EXIT_OK if counts["failed"] == 0 and counts["invalid"] == 0 else EXIT_FAILED


async def _dry_run(args: argparse.Namespace) -> int:
    from ._dryrun import run_dry  # imports the fake server only when asked for

    config = load_config(args.config)
    build_destination(config)  # config errors first, exactly as a real run reports them
    items = read_events_arg(args.events)
    progress = Progress(len(items), sys.stderr)
    outcomes, requests = await run_dry(
        config, items, batch_size=args.batch_size, on_progress=progress.advance
    )
    progress.finish()
    print(f"Dry run: {len(requests)} Qualtrics request(s) would be sent (nothing was sent):")
    for request in requests:
        print(request)
    print("Summary (against an empty directory)")
    print(_table(_summary_rows(summarize(outcomes))))
    if args.report:
        _write_report(args.report, outcomes, {"dryRun": True, "apiCalls": len(requests)})
    counts = summarize(outcomes)
    return EXIT_OK if counts["failed"] == 0 and counts["invalid"] == 0 else EXIT_FAILED


# ---------------------------------------------------------------------------------------------
# check, serve, demo


async def _check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    destination = build_destination(config)
    subscriptions = config.get("subscriptions") or []
    print(f"config OK: {len(subscriptions)} subscription(s)")
    for index, subscription in enumerate(subscriptions):
        if isinstance(subscription, dict):
            name = subscription.get("name") or f"#{index}"
            when = subscription.get("subscribe") or "its default subscription"
            print(f"  {name}: {subscription.get('action')} when {when}")
    async with destination:
        url = destination.client.base_url
        try:
            me = await destination.client.whoami()
        except AuthenticationError:
            print(
                f"Qualtrics at {url} refused the API token (401): "
                "check apiToken or QUALTRICS_API_TOKEN"
            )
            return EXIT_FAILED
        except APIConnectionError as exc:
            print(f"cannot reach Qualtrics at {url}: {exc}")
            return EXIT_FAILED
        except APIStatusError as exc:
            print(f"Qualtrics at {url} answered {exc.status}: {exc}")
            return EXIT_FAILED
        except QualtricsError as exc:
            print(f"Qualtrics at {url} could not be used: {exc}")
            return EXIT_FAILED
    user = getattr(me, "user_name", None) or getattr(me, "user_id", None) or "?"
    print(f"Qualtrics OK: authenticated as {user} at {url}")
    return EXIT_OK


def _shared_secret(config: dict[str, Any]) -> str | None:
    settings = config.get("settings")
    from_config = settings.get("sharedSecret") if isinstance(settings, dict) else None
    secret = os.environ.get(SHARED_SECRET_ENV) or from_config
    if secret is not None and not isinstance(secret, str):
        raise UsageError("config error (field 'settings.sharedSecret'): must be a string")
    return secret or None


async def _serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    secret = _shared_secret(config)
    destination = build_destination(config)

    def started(url: str) -> None:
        signed = (
            "signed deliveries only (X-Signature)"
            if secret
            else "UNSIGNED deliveries accepted: set SEGMENT_SHARED_SECRET"
        )
        print(f"listening on {url}/ (also /segment); {signed}; GET /healthz, /readyz", flush=True)

    async with destination:
        try:
            await service.serve(
                destination,
                host=args.host,
                port=args.port,
                shared_secret=secret,
                max_body_bytes=args.max_body_bytes,
                deadline=args.deadline,
                on_started=started,
            )
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
            ) from None
    print("stopped", flush=True)
    return EXIT_OK


async def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return await run_demo(batch_size=args.batch_size)


# ---------------------------------------------------------------------------------------------
# Parser


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


DRY_RUN_HELP = (
    "print the Qualtrics requests that would be sent, without sending anything to Qualtrics: the "
    "events run through the real destination against an in-process fake Qualtrics (seeded with the "
    "directories, mailing lists and workflow URLs named in the config, and no contacts), and the "
    "requests it received are printed with the real host, secrets redacted; ids in the bodies are "
    "the fake's"
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation tools and tests)."""
    parser = _Parser(
        prog="qualtrics-segment",
        description="Deliver Segment identify/track events to Qualtrics XM Directory and workflows",
        epilog="Exit status: 0 ok, 1 an event failed or Qualtrics unusable, 2 usage/config error.",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    demo = commands.add_parser(
        "demo", help="replay bundled sample events against an embedded fake Qualtrics"
    )
    demo.add_argument(
        "--batch-size", type=_positive_int, default=100, help="events per batch (default 100)"
    )

    replay = commands.add_parser("replay", help="deliver events from a file (or - for stdin)")
    replay.add_argument(
        "events", metavar="EVENTS", help="JSON Lines, a JSON array or a batch envelope; - for stdin"
    )
    replay.add_argument("--config", required=True, help="destination config JSON")
    replay.add_argument(
        "--concurrency",
        type=_positive_int,
        default=None,
        help="Qualtrics requests in flight at once (default: the SDK's 64)",
    )
    replay.add_argument(
        "--batch-size",
        type=_positive_int,
        default=100,
        help="events per batch; batches go in input order (default 100)",
    )
    replay.add_argument("--dry-run", action="store_true", help=DRY_RUN_HELP)
    replay.add_argument("--report", metavar="FILE", help="write per-event results as JSON to FILE")

    serve = commands.add_parser(
        "serve", help="run the webhook receiver for Segment's Webhooks destinations"
    )
    serve.add_argument("--config", required=True, help="destination config JSON")
    serve.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    serve.add_argument(
        "--max-body-bytes",
        type=_positive_int,
        default=service.DEFAULT_MAX_BODY_BYTES,
        help="largest request body accepted (default 4 MiB)",
    )
    serve.add_argument(
        "--deadline",
        type=_positive_float,
        default=service.DEFAULT_DEADLINE,
        help="seconds per delivery before answering 503 (default 4.5, under Segment's 5 s timeout)",
    )

    check = commands.add_parser("check", help="validate a config and call Qualtrics whoami")
    check.add_argument("--config", required=True, help="destination config JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    handler = {
        "demo": _demo,
        "replay": _dry_run if getattr(args, "dry_run", False) else _replay,
        "serve": _serve,
        "check": _check,
    }[args.command]
    try:
        return asyncio.run(handler(args))
    except UsageError as exc:
        print(f"qualtrics-segment: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
