"""``FakeQualtrics``: lifecycle (async, threaded), seeding and introspection of the fake server."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from ._auth import TRIGGER_PATH, check_trigger_mode
from ._clock import FakeClock
from ._faults import Faults, compile_glob
from ._filters import normalize
from ._http import Context, Settings
from ._ratelimit import SlidingWindowLimiter
from ._records import (
    ContactRecord,
    DirectoryRecord,
    FakeStats,
    ImportJobRecord,
    MailingListRecord,
    MembershipRecord,
    OAuthGrantRecord,
    RecordedRequest,
    TransactionBatchRecord,
    TransactionRecord,
    TriggerEventRecord,
)
from ._server import FakeServer
from ._state import (
    DEFAULT_DIRECTORY_ID,
    ContactFields,
    Directory,
    FakeState,
    MailingList,
    validate_dedup_rules,
)
from ._wire import MAX_ED_NAME, MAX_ED_VALUE, stored_string, tx_date_from_seconds, valid_tx_date

if TYPE_CHECKING:
    from qualtrics_sdk import QualtricsClient

DEFAULT_DEDUP_RULES: Final = (("email",), ("extRef",))
_STRING_FIELDS: Final = ("first_name", "last_name", "email", "phone", "ext_ref", "language")
_SEED_KEYS: Final = frozenset({*_STRING_FIELDS, "unsubscribed", "embedded_data", "created_at"})
_LOOKUP_FIELDS: Final = {"email": "email", "ext_ref": "extRef", "phone": "phone"}


def _seed_fields(values: Mapping[str, Any]) -> tuple[ContactFields, int | None]:
    """Validate Python-named seed values; returns (fields, created_ms).

    Raises:
        TypeError: unknown keys or wrongly typed values.
        ValueError: over-long embedded data.
    """
    unknown = set(values) - _SEED_KEYS
    if unknown:
        raise TypeError(
            f"Unknown contact field(s) {', '.join(sorted(unknown))}; "
            f"use {', '.join(sorted(_SEED_KEYS))}"
        )
    fields: ContactFields = {}
    for name in _STRING_FIELDS:
        value = values.get(name)
        if value is not None:
            if not isinstance(value, str):
                raise TypeError(f"Contact field {name} must be a str, got {type(value).__name__}")
            fields[name] = value
    unsubscribed = values.get("unsubscribed", False)
    if not isinstance(unsubscribed, bool):
        raise TypeError("Contact field unsubscribed must be a bool")
    if unsubscribed:
        fields["unsubscribed"] = True
    embedded = values.get("embedded_data")
    if embedded:
        fields["embedded_data"] = _stored_mapping(embedded, "embedded_data")
    created = values.get("created_at")
    created_ms = None
    if created is not None:
        if not isinstance(created, dt.datetime) or created.tzinfo is None:
            raise TypeError("created_at must be a timezone-aware datetime")
        created_ms = int(created.timestamp() * 1000)
    return fields, created_ms


def _stored_mapping(values: Mapping[str, Any], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in values.items():
        if not isinstance(value, (str, int, float, bool)):
            raise TypeError(f"{what}[{key!r}] must be a str, int, float or bool")
        text = stored_string(value)
        if len(key) > MAX_ED_NAME or len(text) > MAX_ED_VALUE:
            raise ValueError(f"{what}[{key!r}] exceeds {MAX_ED_NAME}/{MAX_ED_VALUE} characters")
        out[key] = text
    return out


class FakeQualtrics:
    """A stateful in-memory Qualtrics (XM Directory, transactions, imports, JSON-event triggers,
    OAuth) served over HTTP on 127.0.0.1, for tests.

    Use it as ``async with FakeQualtrics() as fake:`` (runs in the current event loop), as
    ``with FakeQualtrics() as fake:`` (runs in its own thread, usable from sync and async code),
    through the pytest fixture ``fake_qualtrics``, or standalone with
    ``python -m qualtrics_sdk.testing``.

    It starts with directory ``POOL_DEFAULT`` (default; dedup rules ``email``, then ``extRef``), one
    mailing list in it (:attr:`default_mailing_list_id`) and a random API token
    (:attr:`api_token`).

    Args:
        host: Interface to listen on.
        port: TCP port; 0 picks a free one.
        api_token: The valid API token (random when omitted).
        seed: Seeds generated ids and fault probabilities, so runs reproduce.
        clock: The fake's clock (a real-time :class:`FakeClock` when omitted).
        rate_limit_per_minute: Brand-wide limit (``None`` = off); over it, 429 with
            ``Retry-After`` in real seconds.
        proxy_notice: Host to name in a "Request proxied" ``meta.notice`` on every v3 answer.
        record_requests: Keep every request for :meth:`requests` (turn off for benchmarks).
        import_polls_to_complete: Status polls after which an import completes (0 = at once).
        oauth_token_lifetime: ``expires_in`` of OAuth access tokens, in fake seconds.
        brand_id: ``brandId`` answered by whoami.
        datacenter: ``datacenter`` answered by whoami.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_token: str | None = None,
        seed: int | None = None,
        clock: FakeClock | None = None,
        rate_limit_per_minute: int | None = None,
        proxy_notice: str | None = None,
        record_requests: bool = True,
        import_polls_to_complete: int = 2,
        oauth_token_lifetime: float = 3600.0,
        brand_id: str = "fakebrand",
        datacenter: str = "iad1",
    ) -> None:
        self.clock = clock if clock is not None else FakeClock()
        self._host = host
        self._requested_port = port
        self._state = FakeState(self.clock, seed)
        self._settings = Settings(
            proxy_notice=proxy_notice,
            import_polls_to_complete=import_polls_to_complete,
            oauth_token_lifetime=oauth_token_lifetime,
            record_requests=record_requests,
            brand_id=brand_id,
            datacenter=datacenter,
        )
        self._limiter = SlidingWindowLimiter(self.clock, rate_limit_per_minute)
        self.faults = Faults(seed)
        """Fault injection rules (see :class:`Faults`)."""
        self._server = FakeServer(
            Context(state=self._state, settings=self._settings, limiter=self._limiter),
            self.faults,
        )
        self.api_token: str = api_token or FakeState.new_secret()
        """The valid API token (send it as ``X-API-TOKEN``)."""
        self._state.api_tokens.add(self.api_token)
        directory = self._state.add_directory(
            DEFAULT_DIRECTORY_ID, "Default Directory", True, DEFAULT_DEDUP_RULES
        )
        self.default_directory_id: str = directory.id
        """``POOL_DEFAULT``."""
        self.default_mailing_list_id: str = self._state.add_mailing_list(
            directory, "Default Mailing List", None
        ).id
        """The id of the mailing list the fake starts with, in ``POOL_DEFAULT``."""
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "not started"
        return f"<FakeQualtrics {where}>"

    # -- settings -----------------------------------------------------------------------------

    @property
    def proxy_notice(self) -> str | None:
        """Host named in a "Request proxied ..." ``meta.notice`` on v3 answers (``None`` = off)."""
        return self._settings.proxy_notice

    @proxy_notice.setter
    def proxy_notice(self, host: str | None) -> None:
        self._settings.proxy_notice = host

    @property
    def rate_limit_per_minute(self) -> int | None:
        """Brand-wide limit per 60 fake seconds (``None`` = off). Settable while running."""
        return self._limiter.per_minute

    @rate_limit_per_minute.setter
    def rate_limit_per_minute(self, value: int | None) -> None:
        self._limiter.per_minute = value

    @property
    def import_polls_to_complete(self) -> int:
        """Status polls after which a new import completes (0 = completes when created)."""
        return self._settings.import_polls_to_complete

    @import_polls_to_complete.setter
    def import_polls_to_complete(self, value: int) -> None:
        if value < 0:
            raise ValueError(f"import_polls_to_complete must be >= 0, got {value}")
        self._settings.import_polls_to_complete = value

    @property
    def oauth_token_lifetime(self) -> float:
        """``expires_in`` of new OAuth tokens, in fake seconds."""
        return self._settings.oauth_token_lifetime

    @oauth_token_lifetime.setter
    def oauth_token_lifetime(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError(f"oauth_token_lifetime must be > 0, got {seconds}")
        self._settings.oauth_token_lifetime = seconds

    @property
    def record_requests(self) -> bool:
        """Whether requests are kept for :meth:`requests`."""
        return self._settings.record_requests

    @record_requests.setter
    def record_requests(self, value: bool) -> None:
        self._settings.record_requests = value

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port the fake listens on.

        Raises:
            RuntimeError: the fake is not running.
        """
        if self._port is None:
            raise RuntimeError("FakeQualtrics is not running; use 'async with' or 'with' first")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``, to pass as ``base_url`` (the SDK appends ``/API/v3``).

        Raises:
            RuntimeError: the fake is not running.
        """
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Serve in the running event loop until :meth:`stop`.

        Raises:
            RuntimeError: already running.
            OSError: the port cannot be bound.
        """
        if self._runner is not None:
            raise RuntimeError("FakeQualtrics is already running")
        self._server.starting()
        runner = web.AppRunner(self._server.build_app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._requested_port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop serving (no-op when not running)."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._server.shutting_down()
        await runner.cleanup()
        self._port = None

    async def __aenter__(self) -> FakeQualtrics:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def start_in_thread(self) -> FakeQualtrics:
        """Serve from a background thread with its own event loop; returns ``self``.

        Works from sync code and from any event loop (the client talks to it over TCP).

        Raises:
            RuntimeError: already running.
            OSError: the port cannot be bound.
        """
        if self._thread is not None or self._runner is not None:
            raise RuntimeError("FakeQualtrics is already running")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as error:
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.stop())
                _cancel_pending(loop)
                loop.close()

        thread = threading.Thread(target=serve, name="FakeQualtrics", daemon=True)
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._thread, self._loop = thread, loop
        return self

    def stop_in_thread(self) -> None:
        """Stop a fake started with :meth:`start_in_thread` and join its thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = self._loop = None

    def __enter__(self) -> FakeQualtrics:
        return self.start_in_thread()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_in_thread()

    def client(self, **kwargs: Any) -> QualtricsClient:
        """A ``QualtricsClient`` pointed at this fake, authenticated with :attr:`api_token`.

        Keyword arguments go to ``QualtricsClient``; pass ``auth=...`` (e.g. OAuth client
        credentials registered with :meth:`add_oauth_client`) to use other credentials.

        Raises:
            RuntimeError: the fake is not running.
        """
        from qualtrics_sdk import QualtricsClient

        if "auth" not in kwargs and "api_token" not in kwargs:
            kwargs["api_token"] = self.api_token
        return QualtricsClient(base_url=self.base_url, **kwargs)

    # -- seeding ------------------------------------------------------------------------------

    def add_api_token(self, token: str | None = None) -> str:
        """Accept another API token (random when omitted); returns it."""
        new_token = token or FakeState.new_secret()
        with self._state.lock:
            self._state.api_tokens.add(new_token)
        return new_token

    def revoke_api_token(self, token: str) -> None:
        """Stop accepting ``token`` (later calls with it get 401)."""
        with self._state.lock:
            self._state.api_tokens.discard(token)

    def add_directory(
        self,
        name: str = "Directory",
        *,
        directory_id: str | None = None,
        is_default: bool = False,
        dedup: Iterable[str | Iterable[str]] = (),
    ) -> str:
        """Create a directory; returns its id (``POOL_...`` unless ``directory_id`` is given).

        ``dedup`` holds up to three rules, each a field or a sequence of fields that must all
        match: ``email``, ``firstName``, ``lastName``, ``extRef``, ``phone``.

        Raises:
            ValueError: duplicate id or invalid dedup rules.
        """
        rules = validate_dedup_rules(dedup)
        with self._state.lock:
            return self._state.add_directory(directory_id, name, is_default, rules).id

    def set_dedup(self, directory_id: str, *rules: str | Iterable[str]) -> None:
        """Replace a directory's dedup rules (none = dedup off).

        Example: ``fake.set_dedup("POOL_DEFAULT", "email", ("firstName", "lastName"))``.

        Raises:
            KeyError: unknown directory.
            ValueError: invalid rules.
        """
        checked = validate_dedup_rules(rules)
        with self._state.lock:
            self._directory(directory_id).dedup_rules = checked

    def add_contact(
        self,
        *,
        directory_id: str | None = None,
        mailing_list_id: str | None = None,
        contact_id: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        ext_ref: str | None = None,
        language: str | None = None,
        unsubscribed: bool = False,
        embedded_data: Mapping[str, str | int | float | bool] | None = None,
        created_at: dt.datetime | None = None,
    ) -> str:
        """Insert a contact as is (no dedup, so duplicates can be seeded); returns its id.

        With ``mailing_list_id`` the contact is also added to that list.

        Raises:
            KeyError: unknown directory or mailing list.
            TypeError: wrongly typed values.
        """
        values = {
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "phone": phone,
            "ext_ref": ext_ref,
            "language": language,
            "unsubscribed": unsubscribed,
            "embedded_data": embedded_data,
            "created_at": created_at,
        }
        fields, created_ms = _seed_fields(values)
        with self._state.lock:
            directory = self._directory(directory_id)
            mailing_list = self._mailing_list(directory, mailing_list_id)
            record = self._state.insert_contact(
                directory, fields, contact_id=contact_id, created_ms=created_ms
            )
            if mailing_list is not None:
                self._state.add_member(directory, mailing_list, record.id)
            return record.id

    def add_contacts(
        self,
        contacts: Iterable[Mapping[str, Any]],
        *,
        directory_id: str | None = None,
        mailing_list_id: str | None = None,
    ) -> list[str]:
        """Bulk-insert contacts (no dedup); returns their ids in order.

        Each mapping uses :meth:`add_contact`'s field names, e.g.
        ``fake.add_contacts({"email": f"u{i}@example.com"} for i in range(100_000))``.

        Raises:
            KeyError: unknown directory or mailing list.
            TypeError: unknown keys or wrongly typed values.
        """
        parsed = [_seed_fields(values) for values in contacts]
        with self._state.lock:
            directory = self._directory(directory_id)
            mailing_list = self._mailing_list(directory, mailing_list_id)
            ids = []
            for fields, created_ms in parsed:
                record = self._state.insert_contact(directory, fields, created_ms=created_ms)
                if mailing_list is not None:
                    self._state.add_member(directory, mailing_list, record.id)
                ids.append(record.id)
            return ids

    def add_mailing_list(
        self,
        name: str = "Mailing List",
        *,
        directory_id: str | None = None,
        owner_id: str | None = None,
        mailing_list_id: str | None = None,
    ) -> str:
        """Create a mailing list; returns its id (``CG_...``).

        Raises:
            KeyError: unknown directory.
            ValueError: ``mailing_list_id`` already exists.
        """
        with self._state.lock:
            directory = self._directory(directory_id)
            return self._state.add_mailing_list(directory, name, owner_id, mailing_list_id).id

    def add_to_mailing_list(
        self,
        contact_id: str,
        mailing_list_id: str | None = None,
        *,
        private_embedded_data: Mapping[str, str | int | float | bool] | None = None,
        unsubscribed: bool = False,
        bounced: bool = False,
    ) -> str:
        """Add a contact to a mailing list (default list when omitted), or update its membership.

        ``unsubscribed`` / ``bounced`` mark it for the list's ``optedOutContacts`` /
        ``bouncedContacts``. Returns the ``contactLookupId`` (``CGC_...``).

        Raises:
            KeyError: unknown mailing list, or a contact not in the list's directory.
        """
        private = (
            _stored_mapping(private_embedded_data, "private_embedded_data")
            if private_embedded_data
            else None
        )
        with self._state.lock:
            directory, mailing_list = self._find_list(
                mailing_list_id or self.default_mailing_list_id
            )
            if contact_id not in directory.contacts:
                raise KeyError(f"Contact {contact_id} is not in directory {directory.id}")
            member = self._state.add_member(
                directory,
                mailing_list,
                contact_id,
                private_embedded_data=private,
                unsubscribed=unsubscribed,
                bounced=bounced,
            )
            return member.contact_lookup_id

    def add_transaction(
        self,
        contact_id: str,
        *,
        mailing_list_id: str | None = None,
        transaction_date: str | dt.datetime | None = None,
        data: Mapping[str, str | int | float | bool] | None = None,
        directory_id: str | None = None,
    ) -> str:
        """Record a transaction for a contact; returns its id (``CTR_...``).

        ``transaction_date`` is ``YYYY-MM-DD HH:MM:SS`` (UTC) or an aware datetime; default: now
        on the fake clock.

        Raises:
            KeyError: unknown directory, contact or mailing list.
            ValueError: a badly formatted date.
        """
        if isinstance(transaction_date, dt.datetime):
            if transaction_date.tzinfo is None:
                raise ValueError("transaction_date must be timezone-aware")
            date = tx_date_from_seconds(transaction_date.timestamp())
        elif transaction_date is None:
            date = tx_date_from_seconds(self.clock.now())
        elif valid_tx_date(transaction_date):
            date = transaction_date
        else:
            raise ValueError(
                f"transaction_date must be YYYY-MM-DD HH:MM:SS, got {transaction_date!r}"
            )
        stored = _stored_mapping(data or {}, "data")
        with self._state.lock:
            directory = self._directory(directory_id)
            if contact_id not in directory.contacts:
                raise KeyError(f"Contact {contact_id} is not in directory {directory.id}")
            list_id = mailing_list_id or self.default_mailing_list_id
            if list_id not in directory.lists:
                raise KeyError(f"Mailing list {list_id} is not in directory {directory.id}")
            return self._state.add_transaction(
                directory,
                contact_id=contact_id,
                mailing_list_id=list_id,
                transaction_date=date,
                data=stored,
                key=None,
            ).id

    def add_transaction_batch(
        self, *, directory_id: str | None = None, transaction_ids: Iterable[str] = ()
    ) -> str:
        """Create a transaction batch, optionally holding transactions; returns its id (``BT_``).

        Raises:
            KeyError: unknown directory or transaction.
        """
        with self._state.lock:
            directory = self._directory(directory_id)
            wanted = list(transaction_ids)
            for item in wanted:
                if item not in directory.transactions:
                    raise KeyError(f"Transaction {item} is not in directory {directory.id}")
            batch = self._state.add_batch(directory)
            self._state.add_to_batch(directory, batch, wanted)
            return batch.id

    def add_oauth_client(
        self, client_id: str, client_secret: str, *, scopes: Iterable[str] = ("manage:all",)
    ) -> None:
        """Register an OAuth client for ``POST /oauth2/token`` (client credentials grant).

        A client with ``manage:all`` may ask for any scope; others only for their ``scopes``.
        """
        with self._state.lock:
            self._state.oauth_clients[client_id] = (client_secret, tuple(scopes))

    def add_workflow_trigger(self, *, auth: str = "required") -> str:
        """Create a JSON-event trigger; returns its full URL
        (``{base_url}/inbound-event/v1/events/json/triggers?urlTokenId=<uuid>``).

        ``auth``: ``"required"`` (``X-API-TOKEN`` or Basic ``username:token``), ``"token"``,
        ``"basic"`` (only that form), or ``"none"``. OAuth bearer tokens are always refused.

        Raises:
            RuntimeError: the fake is not running (the URL needs its port).
            ValueError: unknown ``auth`` mode.
        """
        mode = check_trigger_mode(auth)
        base = self.base_url
        with self._state.lock:
            token_id = self._state.new_uuid()
            self._state.triggers[token_id] = mode
        return f"{base}{TRIGGER_PATH}?urlTokenId={token_id}"

    # -- introspection ------------------------------------------------------------------------

    def requests(
        self, *, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        """Requests received so far, oldest first, optionally filtered by method and path glob
        (``*`` within a segment, ``**`` across)."""
        regex = compile_glob(path) if path is not None else None
        with self._state.lock:
            recorded = list(self._server.recorded)
        return [
            item
            for item in recorded
            if (method is None or item.method == method.upper())
            and (regex is None or regex.fullmatch(item.path))
        ]

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._state.lock:
            self._server.recorded.clear()

    def directories(self) -> list[DirectoryRecord]:
        """All directories, in creation order."""
        with self._state.lock:
            return [directory.snapshot() for directory in self._state.iter_directories()]

    def contacts(self, directory_id: str | None = None) -> list[ContactRecord]:
        """The contacts of a directory (default ``POOL_DEFAULT``), in creation order.

        Raises:
            KeyError: unknown directory.
        """
        with self._state.lock:
            directory = self._directory(directory_id)
            return [directory.contacts[item] for item in directory.order]

    def get_contact(self, contact_id: str, *, directory_id: str | None = None) -> ContactRecord:
        """One contact.

        Raises:
            KeyError: unknown directory or contact.
        """
        with self._state.lock:
            directory = self._directory(directory_id)
            try:
                return directory.contacts[contact_id]
            except KeyError:
                raise KeyError(f"Contact {contact_id} is not in {directory.id}") from None

    def find_contacts(
        self,
        *,
        email: str | None = None,
        ext_ref: str | None = None,
        phone: str | None = None,
        directory_id: str | None = None,
    ) -> list[ContactRecord]:
        """Contacts whose given fields all equal the values (trimmed, case-insensitive).

        Raises:
            KeyError: unknown directory.
            TypeError: no field given.
        """
        wanted = {
            name: normalize(value)
            for name, value in (("email", email), ("ext_ref", ext_ref), ("phone", phone))
            if value is not None
        }
        if not wanted:
            raise TypeError("find_contacts needs email, ext_ref or phone")
        with self._state.lock:
            directory = self._directory(directory_id)
            first = next(iter(wanted))
            ids = self._state.lookup(directory, _LOOKUP_FIELDS[first], wanted[first])
            found = [directory.contacts[item] for item in ids]
            found.sort(key=lambda contact: directory.order.position(contact.id))
        return [
            contact
            for contact in found
            if all(
                (value := getattr(contact, name)) is not None and normalize(value) == expected
                for name, expected in wanted.items()
            )
        ]

    def mailing_lists(self, directory_id: str | None = None) -> list[MailingListRecord]:
        """The mailing lists of a directory, in creation order.

        Raises:
            KeyError: unknown directory.
        """
        with self._state.lock:
            directory = self._directory(directory_id)
            return [directory.lists[item].snapshot() for item in directory.list_order]

    def memberships(self, mailing_list_id: str | None = None) -> list[MembershipRecord]:
        """The members of a mailing list (default list when omitted), in the order added.

        Raises:
            KeyError: unknown mailing list.
        """
        with self._state.lock:
            _, mailing_list = self._find_list(mailing_list_id or self.default_mailing_list_id)
            return [mailing_list.members[item] for item in mailing_list.order]

    def transactions(
        self, *, directory_id: str | None = None, contact_id: str | None = None
    ) -> list[TransactionRecord]:
        """Transactions of a directory (optionally of one contact), in creation order.

        Raises:
            KeyError: unknown directory.
        """
        with self._state.lock:
            directory = self._directory(directory_id)
            records = list(directory.transactions.values())
        if contact_id is not None:
            records = [record for record in records if record.contact_id == contact_id]
        return records

    def transaction_batches(self, directory_id: str | None = None) -> list[TransactionBatchRecord]:
        """Transaction batches of a directory, in creation order.

        Raises:
            KeyError: unknown directory.
        """
        with self._state.lock:
            directory = self._directory(directory_id)
            return [directory.batches[item].snapshot() for item in directory.batch_order]

    def imports(self) -> list[ImportJobRecord]:
        """All contact import jobs, in creation order."""
        with self._state.lock:
            return [job.snapshot() for job in self._state.imports.values()]

    def trigger_events(self, trigger: str | None = None) -> list[TriggerEventRecord]:
        """JSON events received, oldest first; ``trigger`` (a URL from
        :meth:`add_workflow_trigger` or its ``urlTokenId``) keeps one trigger's events."""
        token_id = None
        if trigger is not None:
            token_id = trigger.rsplit("urlTokenId=", 1)[-1].split("&", 1)[0]
        with self._state.lock:
            events = list(self._state.trigger_events)
        return [event for event in events if token_id is None or event.url_token_id == token_id]

    def oauth_grants(self) -> list[OAuthGrantRecord]:
        """Access tokens issued by ``/oauth2/token``, oldest first."""
        with self._state.lock:
            return list(self._state.oauth_grants)

    @property
    def stats(self) -> FakeStats:
        """Counters: requests received, rate-limit 429s, OAuth grants, events, faults fired."""
        with self._state.lock:
            state = self._state
            return FakeStats(
                requests=state.requests_seen,
                rate_limited=state.rate_limited,
                oauth_grants=len(state.oauth_grants),
                trigger_events=len(state.trigger_events),
                faults_fired=self.faults.fired,
            )

    # -- lookups ------------------------------------------------------------------------------

    def _directory(self, directory_id: str | None) -> Directory:
        wanted = directory_id or self.default_directory_id
        found = self._state.directories.get(wanted)
        if found is None:
            raise KeyError(f"Unknown directory {wanted}")
        return found

    def _mailing_list(self, directory: Directory, list_id: str | None) -> MailingList | None:
        if list_id is None:
            return None
        found = directory.lists.get(list_id)
        if found is None:
            raise KeyError(f"Mailing list {list_id} is not in directory {directory.id}")
        return found

    def _find_list(self, list_id: str) -> tuple[Directory, MailingList]:
        for directory in self._state.directories.values():
            found = directory.lists.get(list_id)
            if found is not None:
                return directory, found
        raise KeyError(f"Unknown mailing list {list_id}")


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
