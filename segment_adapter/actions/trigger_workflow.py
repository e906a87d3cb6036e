"""``triggerXflowWorkflow``: POST the mapped event to a workflow's JSON-event trigger URL.

As the hosted action does, the body is ``eventPayload`` and the API token is sent as
``X-API-TOKEN``. Unlike it (D1), the SDK refuses, before sending anything, a URL that is not https
on a ``*.qualtrics.com`` host, so a mistyped or malicious mapping cannot leak the token. The
default payload's ``traits`` come from ``context.traits`` when the event has no top-level
``traits`` (D6).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from qualtrics_sdk import QualtricsClient

from ._defaults import TRIGGER_WORKFLOW, ActionSpec
from ._outcome import Outcome, failure

__all__ = ["SPEC", "WorkflowWork", "perform", "prepare"]

SPEC: ActionSpec = TRIGGER_WORKFLOW


@attrs.frozen(kw_only=True)
class WorkflowWork:
    """A workflow trigger to send."""

    url: str
    payload: Mapping[str, Any]


def prepare(payload: Mapping[str, Any]) -> WorkflowWork:
    """Take the URL and body from a checked payload (an absent body is ``{}``)."""
    return WorkflowWork(url=payload["workflowUrl"], payload=payload.get("eventPayload", {}))


async def perform(client: QualtricsClient, work: WorkflowWork) -> Outcome:
    """Trigger the workflow; never raises (failures become a failed :class:`Outcome`).

    A refused URL (``UnsafeURLError``) fails the event without retrying.
    """
    try:
        await client.workflows.trigger_event(work.url, work.payload, auth="token")
    except Exception as exc:
        return failure(exc)
    return Outcome.ok()
