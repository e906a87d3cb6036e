"""Run every Python example in the docs (and the README) so the docs cannot rot.

The convention (also described in CONTRIBUTING.md):

* Every fenced block whose info string starts with ``python`` (for example ```` ```python ```` or
  ```` ```python title="sync.py" ````) in ``docs/**/*.md`` and ``README.md`` is executed.
* The blocks of one page run in order in one shared namespace, like the cells of a notebook, so a
  later block may use names an earlier block defined. Top-level ``await`` is allowed.
* Each page starts with a fresh fake Qualtrics server from ``qualtrics_sdk.testing`` and these
  names already defined: ``fake`` (the running ``FakeQualtrics``), ``client`` (a
  ``QualtricsClient`` connected to it), ``base_url`` and ``api_token`` (the fake's). The client and
  the fake are closed after the page.
* An HTML comment on the line right before the fence changes that, and is invisible on the site:
  ``<!-- doctest: skip (reason) -->`` never runs the block (say why; use it only for code that
  cannot run here, e.g. a program's ``main()`` that blocks forever), and
  ``<!-- doctest: pending -->`` marks an example whose API has not landed yet. Pending blocks are
  skipped and listed; ``DOCS_RUN_PENDING=1`` runs them too, to check whether they work now.
* A script-style block, one that ends in a top-level ``asyncio.run(main())``, runs in a worker
  thread (no running loop there), exactly as it would as a file.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\n`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*doctest:\s*(?P<kind>skip|pending)\b(?P<reason>.*?)-->\s*$")
EXAMPLE_TIMEOUT = 60.0


@attrs.frozen
class Example:
    """One fenced Python block: where it is, its code, and its marker (``None``, skip, pending)."""

    page: Path
    line: int  # 1-based line of the first code line
    code: str
    marker: str | None
    reason: str


def _dedent(lines: list[str], indent: str) -> list[str]:
    return [line[len(indent) :] if line.startswith(indent) else line.lstrip() for line in lines]


def extract_examples(page: Path) -> list[Example]:
    """Parse the fenced ``python`` blocks of a Markdown page (indented ones too, e.g. in tabs)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    examples: list[Example] = []
    index = 0
    while index < len(lines):
        match = _FENCE_OPEN.match(lines[index])
        if not match:
            index += 1
            continue
        fence, indent = match["fence"], match["indent"]
        language = (match["info"].split() or [""])[0].lower()
        body_start = index + 1
        end = body_start
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        if language in ("python", "py"):
            marker, reason = _marker_before(lines, index)
            code = "\n".join(_dedent(lines[body_start:end], indent))
            examples.append(Example(page, body_start + 1, code, marker, reason))
        index = end + 1
    return examples


def _marker_before(lines: list[str], fence_index: int) -> tuple[str | None, str]:
    previous = fence_index - 1
    while previous >= 0 and not lines[previous].strip():
        previous -= 1
    if previous >= 0 and (marker := _MARKER.match(lines[previous])):
        return marker["kind"], marker["reason"].strip(" ()")
    return None, ""


def _relative(page: Path) -> str:
    return str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else str(page)


@asynccontextmanager
async def page_environment() -> AsyncIterator[dict[str, Any]]:
    """A fresh fake Qualtrics and a client connected to it, as the names the examples use."""
    from qualtrics_sdk import QualtricsClient
    from qualtrics_sdk.testing import FakeQualtrics

    async with FakeQualtrics() as fake:
        client = QualtricsClient(base_url=fake.base_url, api_token=fake.api_token)
        try:
            yield {
                "__name__": "__doc_example__",
                "fake": fake,
                "client": client,
                "base_url": fake.base_url,
                "api_token": fake.api_token,
            }
        finally:
            await client.close()


_SCRIPT = re.compile(r"^(?![\s#])[^#\n]*\basyncio\.run\(", re.MULTILINE)


async def run_example(example: Example, namespace: dict[str, Any]) -> None:
    """Execute one block in ``namespace``, with top-level ``await`` and Markdown line numbers.

    A script-style block (one that calls ``asyncio.run(...)`` at top level) runs in a worker thread,
    which has no running event loop, exactly as it would run as a file.
    """
    source = "\n" * (example.line - 1) + example.code
    if _SCRIPT.search(example.code):
        code = compile(source, _relative(example.page), "exec")
        await asyncio.to_thread(exec, code, namespace)
        return
    code = compile(source, _relative(example.page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # the docs are our own files, executed like a notebook
    if inspect.isawaitable(result):
        await result


def _runnable(examples: list[Example]) -> list[Example]:
    run_pending = os.environ.get("DOCS_RUN_PENDING") == "1"
    return [e for e in examples if e.marker is None or (run_pending and e.marker == "pending")]


PAGES_WITH_EXAMPLES = [page for page in PAGES if extract_examples(page)]


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES, ids=_relative)
async def test_page_examples_run(page: Path) -> None:
    examples = _runnable(extract_examples(page))
    if not examples:
        pytest.skip(f"{_relative(page)}: every example is marked skip or pending")
    async with page_environment() as namespace:
        for example in examples:
            try:
                await asyncio.wait_for(run_example(example, namespace), EXAMPLE_TIMEOUT)
            except Exception as error:
                where = f"{_relative(example.page)}:{example.line}"
                raise AssertionError(f"docs example at {where} failed: {error!r}") from error


def test_markers_are_well_formed() -> None:
    """A typo in a marker would silently run (or not run) an example: reject unknown markers."""
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if "doctest:" not in line or "<!--" not in line:
                continue
            marker = _MARKER.match(line)
            assert marker, f"{_relative(page)}:{number}: unknown marker {line!r}"
            if marker["kind"] == "skip":
                assert marker["reason"].strip(" ()"), f"{_relative(page)}:{number}: say why"


def test_extractor_finds_blocks_and_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Intro\n\n```python\nx = 1\n```\n\n<!-- doctest: pending -->\n```python\nawait f()\n```\n"
        '\n=== "Tab"\n\n    ```python title="t.py"\n    y = x + 1\n    ```\n\n'
        "```bash\nmake test\n```\n<!-- doctest: skip (runs forever) -->\n\n```py\nserve()\n```\n",
        encoding="utf-8",
    )
    found = [(e.line, e.code, e.marker, e.reason) for e in extract_examples(page)]
    assert found == [
        (4, "x = 1", None, ""),
        (9, "await f()", "pending", ""),
        (15, "y = x + 1", None, ""),
        (24, "serve()", "skip", "runs forever"),
    ]


async def test_runner_supports_top_level_await_and_shared_namespace(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    namespace: dict[str, Any] = {"asyncio": asyncio}
    await run_example(Example(page, 3, "await asyncio.sleep(0)\nvalue = 41", None, ""), namespace)
    await run_example(Example(page, 9, "value += 1", None, ""), namespace)
    assert namespace["value"] == 42


async def test_runner_runs_script_style_blocks_in_a_thread(tmp_path: Path) -> None:
    code = "import asyncio\n\nasync def main():\n    return 7\n\nresult = asyncio.run(main())"
    namespace: dict[str, Any] = {}
    await run_example(Example(tmp_path / "p.md", 1, code, None, ""), namespace)
    assert namespace["result"] == 7


async def test_runner_reports_markdown_line_numbers(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    with pytest.raises(ZeroDivisionError) as caught:
        await run_example(Example(page, 7, "a = 1\nb = a / 0", None, ""), {})
    assert caught.traceback[-1].lineno + 1 == 8
