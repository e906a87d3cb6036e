"""``qualtrics-segment``: run the Segment adapter without writing code.

Commands::

    qualtrics-segment demo                         # the whole product against an embedded fake
    qualtrics-segment replay EVENTS --config CFG   # deliver a file of events (or - for stdin)
    qualtrics-segment serve --config CFG           # the webhook receiver for Segment
    qualtrics-segment check --config CFG           # validate a config and the credentials

Options: ``replay`` takes ``--concurrency N`` (Qualtrics requests in flight), ``--batch-size N``,
``--dry-run`` (print the requests with secrets redacted; nothing reaches Qualtrics and the ledger
is only read, from a copy) and ``--report FILE`` (per-event JSON; its shape is in
``qualtrics-segment replay --help``). ``serve`` takes ``--host``, ``--port``, ``--max-body-bytes``
and ``--deadline``. The token comes from ``settings.apiToken`` or ``QUALTRICS_API_TOKEN``, the
webhook secret from ``SEGMENT_SHARED_SECRET`` or ``settings.sharedSecret``; neither is printed.
A relative ``settings.ledgerPath`` is relative to the config file.

Exit status: 0 success (every event delivered or skipped), 1 when an event failed or was invalid,
or Qualtrics is unreachable or refuses the credentials, 2 for usage and config errors (reported
before anything is sent, naming the subscription and field). Only the standard library's
``argparse`` is used, so the command works from a plain install (decisions.md 17).

Deployment of ``serve``: see :mod:`segment_adapter.service` (TLS at a reverse proxy, proxy
timeout above ``--deadline``, one SQLite ledger per host: replicas on different hosts must not
share the ledger file over a network volume).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
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
TOKEN_ENV = "QUALTRICS_API_TOKEN"


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
    message = str(exc)
    # The message often repeats the subscription ("subscription ids: ..."); the prefix says it.
    repeated = f"subscription {exc.subscription}: "
    if exc.subscription is not None and message.startswith(repeated):
        message = message[len(repeated) :]
    return f"{prefix}: {message}"


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
    return _ledger_relative_to(config, Path(path).parent)


def _ledger_relative_to(config: dict[str, Any], directory: Path) -> dict[str, Any]:
    """Resolve a relative ``settings.ledgerPath`` against the config file's directory.

    That is what ``QualtricsDestination.from_config(path)`` does, so the command and the library
    share one ledger whatever the working directory.
    """
    settings = config.get("settings")
    if not isinstance(settings, dict):
        return config
    ledger = settings.get("ledgerPath")
    if not isinstance(ledger, str) or not ledger or ledger == ":memory:":
        return config
    if Path(ledger).is_absolute():
        return config
    return {**config, "settings": {**settings, "ledgerPath": str(directory / ledger)}}


def _require_token(config: dict[str, Any]) -> None:
    settings = config.get("settings")
    token = settings.get("apiToken") if isinstance(settings, dict) else None
    if not token and not os.environ.get(TOKEN_ENV):
        raise UsageError(
            "config error (field 'settings.apiToken'): no Qualtrics API token; set "
            f"settings.apiToken in the config or the {TOKEN_ENV} environment variable"
        )


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
    if isinstance(config.get("settings"), dict):
        _require_token(config)
    options = {"on_request": list(on_request)} if on_request else None
    try:
        destination = QualtricsDestination.from_config(
            _destination_config(config, concurrency), client_options=options
        )
    except ConfigError as exc:
        raise UsageError(_config_problem(exc)) from None
    except (QualtricsError, ValueError) as exc:
        raise UsageError(f"config error: {exc}") from None
    return destination


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
    # Config errors first, exactly as a real run reports them. The ledger is left out: a dry
    # run must not create or open the real one (run_dry works on a copy).
    settings = config.get("settings")
    if isinstance(settings, dict):
        settings = {key: value for key, value in settings.items() if key != "ledgerPath"}
    async with build_destination({**config, "settings": settings}):
        pass
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
    # Access lines and warnings on stderr. Neither the token nor the shared secret is ever logged:
    # aiohttp's access line holds the request line, status, size, referer and user agent only.
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )

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
    "print the Qualtrics requests that would be sent, secrets redacted, and send nothing to "
    "Qualtrics: the events run through the real destination against an in-process fake Qualtrics "
    "(seeded with the directories, mailing lists and workflow URLs named in the config, and no "
    "contacts); requests are shown with the real host; ids in the bodies are the fake's; the "
    "ledger (settings.ledgerPath) is read from a copy and never written"
)

EXIT_STATUS_HELP = """exit status:
  0  every event was delivered, a duplicate of a delivered one, or skipped by subscription
  1  an event failed or was invalid, or Qualtrics is unreachable or refuses the credentials
  2  usage or config error (reported before anything is sent)"""

CONFIG_HELP = "destination config JSON (settings and subscriptions)"

REPLAY_EPILOG = f"""input formats (EVENTS):
  JSON Lines (one event per line; blank lines ignored), a JSON array of events, one event,
  or an HTTP API batch envelope {{"batch": [...], "context": {{...}}}}; - reads stdin.
  Invalid events are reported as "line N: invalid: reason" (or "item N" for arrays and
  envelopes) and never stop the rest.

progress:
  a progress bar on stderr when it is a terminal, "processed N/M events" lines otherwise;
  failed and invalid events are printed on stdout, then a summary.

report file (--report FILE), JSON:
  {{"summary": {{"events", "delivered", "skipped", "failed", "invalid", "duplicates",
               "retryable", "apiCalls", "elapsedSeconds" (or "dryRun": true)}},
   "events": [{{"source": "line 3" | "item 3", "line": 3 | null, "messageId",
               "status": "delivered" | "skipped" | "failed" | "invalid",
               "duplicate", "retryable", "message",
               "result": the destination's per-subscription results (null when invalid)}}]}}

environment:
  {TOKEN_ENV} is used when the config has no settings.apiToken.

{EXIT_STATUS_HELP}"""

SERVE_EPILOG = f"""endpoints:
  POST /  (also /segment)  one Segment event or a JSON array of events
  GET  /healthz            200 while the process is up
  GET  /readyz             200 when Qualtrics accepts the credentials (cached 5 s), else 503

answers: 200 delivered/duplicate/skipped; 503 (+ Retry-After) when a retry can help;
400 malformed JSON or invalid event; 207 batch partly failed for good; 401 bad or missing
X-Signature (when a secret is set); 408 body too slow; 413 body too large.
Any Content-Type is read as JSON (curl -d works).

environment:
  {SHARED_SECRET_ENV}  the shared secret set in Segment (wins over settings.sharedSecret);
                         without one, unsigned deliveries are accepted
  {TOKEN_ENV}    used when the config has no settings.apiToken

Stop with SIGTERM or Ctrl-C: requests in flight finish first. Exit status 0 after a clean
stop, 2 for usage/config errors or when the address cannot be bound."""

CHECK_EPILOG = f"""Validates settings, subscriptions (FQL), mappings and the datacenter, then calls
Qualtrics whoami with the token.

{EXIT_STATUS_HELP}"""

DEMO_DESCRIPTION = (
    "Start an embedded fake Qualtrics on 127.0.0.1, replay a few hundred bundled Segment "
    "events (identify and track, with redeliveries and a few invalid events) through the real "
    "destination, and print what reached Qualtrics. Needs no account or network; exits 0."
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation tools and tests)."""
    parser = _Parser(
        prog="qualtrics-segment",
        description="Deliver Segment identify/track events to Qualtrics XM Directory and workflows",
        epilog=EXIT_STATUS_HELP
        + "\n\nRun 'qualtrics-segment COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    demo_help = "replay bundled sample events against an embedded fake Qualtrics"
    demo = commands.add_parser("demo", help=demo_help, description=DEMO_DESCRIPTION)
    demo.add_argument(
        "--batch-size", type=_positive_int, default=100, help="events per batch (default 100)"
    )

    replay_help = "deliver events from a file (or - for stdin)"
    replay = commands.add_parser(
        "replay",
        help=replay_help,
        description="Deliver Segment events from a file (or stdin) to Qualtrics, in input order.",
        epilog=REPLAY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    replay.add_argument(
        "events", metavar="EVENTS", help="JSON Lines, a JSON array or a batch envelope; - for stdin"
    )
    replay.add_argument("--config", required=True, help=CONFIG_HELP)
    replay.add_argument(
        "--concurrency",
        type=_positive_int,
        default=None,
        metavar="N",
        help="Qualtrics requests in flight at once (default: settings.maxConcurrency, else 32)",
    )
    replay.add_argument(
        "--batch-size",
        type=_positive_int,
        default=100,
        metavar="N",
        help="events per batch; batches go in input order (default 100)",
    )
    replay.add_argument("--dry-run", action="store_true", help=DRY_RUN_HELP)
    replay.add_argument(
        "--report", metavar="FILE", help="write per-event results as JSON to FILE (shape below)"
    )

    serve = commands.add_parser(
        "serve",
        help="run the webhook receiver for Segment's Webhooks destinations",
        description=(
            "Receive deliveries from Segment's Webhooks (classic or Actions) destination and "
            "deliver them to Qualtrics, answering only once they are delivered."
        ),
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--config", required=True, help=CONFIG_HELP)
    serve.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    serve.add_argument(
        "--max-body-bytes",
        type=_positive_int,
        default=service.DEFAULT_MAX_BODY_BYTES,
        metavar="N",
        help="largest request body accepted, else 413 (default 4 MiB)",
    )
    serve.add_argument(
        "--deadline",
        type=_positive_float,
        default=service.DEFAULT_DEADLINE,
        metavar="SECONDS",
        help=(
            "time from a request's arrival to its answer; past it the answer is 503 and delivery "
            "goes on (default 4.5, under Segment's 5 s webhook timeout)"
        ),
    )

    check = commands.add_parser(
        "check",
        help="validate a config and call Qualtrics whoami",
        description="Check a destination config and the Qualtrics credentials; send no events.",
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("--config", required=True, help=CONFIG_HELP)
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
