"""The aiohttp application: routing, the per-request pipeline, envelopes, faults and recording.

Pipeline of every request: read it; let the fault rules pick a fault (drop before, error status,
delay); resolve the route (unknown: 404 "API call does not exist", before auth, like Qualtrics);
authenticate; apply the brand-wide rate limit; run the handler under the state lock; wrap the
result in Qualtrics' envelope; drop the connection afterwards if a ``drop_after`` fault fired;
record the request with secrets redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

from . import _api_contacts, _api_imports, _api_lists, _api_transactions, _auth
from ._faults import FaultRule, Faults
from ._http import Call, Context, Route
from ._records import RecordedRequest
from ._wire import NO_RESULT, ApiError, Reply, http_status

ROUTE_TABLES: Final = (
    _api_contacts.routes,
    _api_lists.routes,
    _api_transactions.routes,
    _api_imports.routes,
    _auth.routes,
)
MAX_REQUEST_BYTES: Final = 64 * 1024 * 1024
_API_PREFIX: Final = "/API/v3/"

Endpoint = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class FakeServer:
    """Builds the aiohttp app around shared state, faults and recorded requests."""

    def __init__(self, ctx: Context, faults: Faults) -> None:
        self.ctx = ctx
        self.faults = faults
        self.recorded: list[RecordedRequest] = []
        self._sequence = 0
        self._shutdown: asyncio.Event | None = None

    def starting(self) -> None:
        """Prepare for serving in the current event loop."""
        self._shutdown = asyncio.Event()

    def build_app(self) -> web.Application:
        """A fresh aiohttp application serving every route of the fake."""
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        for table in ROUTE_TABLES:
            for route in table.routes:
                app.router.add_route(route.method, route.path, self._endpoint(route))
        app.router.add_route("*", "/{tail:.*}", self._endpoint(None))
        return app

    def _endpoint(self, route: Route | None) -> Endpoint:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            return await self._serve(request, route)

        return endpoint

    async def _serve(self, request: web.Request, route: Route | None) -> web.StreamResponse:
        state = self.ctx.state
        received_at = state.clock.now()
        with state.lock:
            state.requests_seen += 1
        call = await self._read(request, route)
        fault = self.faults.pick(call.method, call.path)
        if fault is not None and fault.kind == "drop_before":
            self._drop(request)
            self._record(call, None, fault, received_at)
            return web.Response(status=204)
        if fault is not None and fault.delay > 0:
            await self._sleep(fault.delay)
        if fault is not None and fault.kind == "status":
            response = self._error_response(call, _fault_error(fault))
        else:
            response = self._dispatch(route, call)
        if fault is not None and fault.kind == "drop_after":
            self._drop(request)
            self._record(call, response.status, fault, received_at)
            return response
        self._record(call, response.status, fault, received_at)
        return response

    async def _read(self, request: web.Request, route: Route | None) -> Call:
        form: dict[str, str] | None = None
        content_type = request.content_type
        if route is not None and route.auth == "oauth" and content_type == "multipart/form-data":
            posted = await request.post()
            form = {key: str(value) for key, value in posted.items()}
            body = b""
        else:
            body = await request.read()
            if content_type == "application/x-www-form-urlencoded":
                form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return Call(
            method=request.method,
            path=request.path,
            query=MultiDictProxy(MultiDict(request.query)),
            headers=request.headers,
            body=body,
            params=dict(request.match_info),
            origin=f"{request.scheme}://{request.host}",
            request_id=str(uuid.uuid4()),
            form=form,
        )

    async def _sleep(self, seconds: float) -> None:
        if self._shutdown is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._shutdown.wait(), timeout=seconds)

    def shutting_down(self) -> None:
        """Wake delayed requests so the server can stop promptly (call in the server's loop)."""
        if self._shutdown is not None:
            self._shutdown.set()

    @staticmethod
    def _drop(request: web.Request) -> None:
        transport = request.transport
        if transport is not None:
            transport.close()

    def _dispatch(self, route: Route | None, call: Call) -> web.Response:
        ctx = self.ctx
        with ctx.state.lock:
            try:
                if route is None:
                    raise ApiError(404, f"API call does not exist: {call.method} {call.path}")
                if route.auth == "api":
                    _auth.authenticate_api(ctx, call)
                    _auth.enforce_rate_limit(ctx)
                reply = route.handler(ctx, call)
            except ApiError as error:
                return self._error_response(call, error)
        return self._reply_response(call, reply)

    def _meta(self, call: Call, status: int) -> dict[str, Any]:
        meta: dict[str, Any] = {"httpStatus": http_status(status), "requestId": call.request_id}
        notice = self.ctx.settings.proxy_notice
        if notice and call.path.startswith(_API_PREFIX):
            meta["notice"] = (
                "Request proxied. For faster response times, use this host instead: " + notice
            )
        return meta

    def _reply_response(self, call: Call, reply: Reply) -> web.Response:
        if reply.raw is not None:
            body: Any = reply.raw
        else:
            body = {} if reply.result is NO_RESULT else {"result": reply.result}
            if reply.top:
                body.update(reply.top)
            body["meta"] = self._meta(call, reply.status)
        return web.Response(
            status=reply.status,
            body=_dumps(body),
            content_type="application/json",
            headers=reply.headers,
        )

    def _error_response(self, call: Call, error: ApiError) -> web.Response:
        meta = self._meta(call, error.status)
        details: dict[str, Any] = {"errorMessage": error.message}
        if error.code is not None:
            details["errorCode"] = error.code
        meta["error"] = details
        return web.Response(
            status=error.status,
            body=_dumps({"meta": meta}),
            content_type="application/json",
            headers=error.headers or None,
        )

    def _record(
        self, call: Call, status: int | None, fault: FaultRule | None, received_at: float
    ) -> None:
        state = self.ctx.state
        if not self.ctx.settings.record_requests:
            return
        form = call.form
        if form is not None and "client_secret" in form:
            form = {**form, "client_secret": "***"}
        with state.lock:
            self._sequence += 1
            self.recorded.append(
                RecordedRequest(
                    sequence=self._sequence,
                    method=call.method,
                    path=call.path,
                    query={key: value for key, value in call.query.items()},
                    headers=CIMultiDictProxy(CIMultiDict(_auth.redact_headers(call.headers))),
                    json=call.parsed_json() if form is None else None,
                    form=form,
                    body_size=len(call.body),
                    status=status,
                    fault=fault.kind if fault is not None else None,
                    request_id=call.request_id,
                    received_at=received_at,
                )
            )


def _fault_error(rule: FaultRule) -> ApiError:
    headers = {}
    if rule.retry_after is not None:
        headers["Retry-After"] = _auth.format_seconds(rule.retry_after)
    return ApiError(rule.status, rule.message, code=rule.error_code, headers=headers)
