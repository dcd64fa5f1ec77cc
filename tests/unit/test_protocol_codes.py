"""One list of error codes: ``ErrorCode`` (app/core/vocabulary.py) is what the server sends; the table in
docs/protocol.md and the page's list (frontend/js/protocol.js) must name exactly the same codes, and the page must
treat each the way the server means it (an answer refused vs. a server fault after which the answer is kept)."""

from __future__ import annotations

import json
import re

from app.config import PROJECT_ROOT
from app.core.durability import StorageError
from app.core.ports import ModelOutputError, ModelUnavailable
from app.core.vocabulary import ErrorCode
from app.server.protocol import TAKEN_OVER_CLOSE_CODE
from app.server.ws import IDLE_CLOSE_REASON

# Server faults after which a reconnect retries the interviewer's turn (an answer the server confirmed with
# answer_received is kept there; one it did not is kept by the page and sent again).
KEPT = {ErrorCode.internal_error, ModelUnavailable.code, ModelOutputError.code, StorageError.code}


def _page_codes() -> tuple[dict[str, str], str]:
    source = (PROJECT_ROOT / "frontend/js/protocol.js").read_text()
    codes = re.search(r"/\* error-codes:begin \*/(.*?)/\* error-codes:end \*/", source, re.S)
    idle = re.search(r'IDLE_CLOSE_REASON\s*=\s*"([^"]*)"', source)
    assert codes and idle, "frontend/js/protocol.js must keep its error-codes markers and IDLE_CLOSE_REASON"
    return json.loads(codes.group(1)), idle.group(1)


def _doc_codes() -> set[str]:
    text = (PROJECT_ROOT / "docs/protocol.md").read_text()
    table = text.split("### Error codes", 1)[1].split("\n### ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", table, re.M))


def test_the_docs_table_lists_exactly_the_servers_codes():
    assert _doc_codes() == {c.value for c in ErrorCode}


def test_the_page_knows_exactly_the_servers_codes_and_treats_each_as_the_server_means():
    codes, _ = _page_codes()
    assert set(codes) == {c.value for c in ErrorCode}
    assert {c for c, kind in codes.items() if kind == "retryable"} == {c.value for c in KEPT}
    assert {kind for kind in codes.values()} <= {"rejected", "retryable"}


def test_the_page_knows_the_idle_close_reason():
    _, idle = _page_codes()
    assert idle == IDLE_CLOSE_REASON


def test_the_page_knows_the_taken_over_close_code():
    source = (PROJECT_ROOT / "frontend/js/protocol.js").read_text()
    code = re.search(r"TAKEN_OVER_CLOSE_CODE\s*=\s*(\d+)", source)
    assert code and int(code.group(1)) == TAKEN_OVER_CLOSE_CODE
