"""提案前チェック: a clerk's draft against the past proposals (kb.similar.check), as a page and as JSON.

- `GET /-/prior-art`: the form (one textarea, Datasette's CSRF token); `POST /-/prior-art` answers with the
  form filled in again, the summary line, the statutes the draft cites and the ranked past proposals.
- `POST /-/prior-art.json`: the same for tools, from a JSON body `{"draft": "…"}` (no CSRF token needed:
  `skip_csrf` below) or a form body; `GET` explains how to call it (405).

Nothing the clerk pastes is stored or logged: the draft is sent by POST (never in a URL, so not in an
access log nor in the page cache, which keeps GET answers only: site/plugins/page_cache.py), the answer
says `Cache-Control: no-store`, and a failure is logged by its exception type and place only, never its
message (which could quote the text). The statutes a draft cites are found with the statute registry
(kb.statutes), loaded once per process on first use, in a worker thread with the citation search so the
event loop keeps serving other pages meanwhile.
"""

# No `from __future__ import annotations` here: Datasette loads plugins outside sys.modules.
import asyncio
import json
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Optional
from urllib.parse import parse_qsl

from datasette import hookimpl
from datasette.app import Datasette
from datasette.database import QueryInterrupted
from datasette.utils import tilde_encode
from datasette.utils.asgi import Request, Response

from kb.db.schema import DB_NAME
from kb.similar.check import ALREADY_POSSIBLE, MAX_DRAFT, REALISED, SAME_AIM, CheckResult, DraftTooLong, Match, check_draft
from kb.statutes.extract import extract_text
from kb.statutes.registry import Registry, load_registry

PATH = "/-/prior-art"
JSON_PATH = "/-/prior-art.json"
# Bytes of a request body read at most. A draft of MAX_DRAFT characters is at most 9 bytes a character
# form-encoded (%E3%81%82), 6 in JSON (\\u3042): 180 kB. A body over this is refused unread, so a
# client cannot make the server hold megabytes; a draft somewhat over MAX_DRAFT still gets the exact
# message of DraftTooLong.
MAX_BODY_BYTES = 1024 * 1024
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
NO_STORE = {"cache-control": "no-store"}
UNDECIDED = "未確定"  # outcome not yet known (NULL)
SHOWN_PROPONENTS = 10  # on the page; JSON gives every one

EMPTY_MESSAGE = "提案の下書きを貼り付けてから「調べる」を押してください。"
BODY_TOO_LONG = f"送られた内容が大きすぎます。下書きは {MAX_DRAFT:,} 文字以内にしてください。"
TIMEOUT_MESSAGE = "調べるのに時間がかかりすぎたため止めました。下書きを短くして（求める措置の要点だけなど）もう一度お試しください。"
FAILED_MESSAGE = "調べる途中で問題が起きました。時間をおいてもう一度お試しください。"
NOT_BUILT_MESSAGE = "このデータベースには提案前チェックの索引がありません（kb build で作り直すと使えます）。"
BAD_JSON = '本文を JSON として読み取れませんでした。{"draft": "下書きの文"} の形で送ってください。'
BAD_DRAFT = '"draft" には文字列を入れてください。'
BAD_FORM = "フォームの内容を読み取れませんでした。draft=下書きの文 の形で送ってください。"
BAD_TYPE = "Content-Type は application/json か application/x-www-form-urlencoded にしてください。"
JSON_USAGE = {
    "ok": False,
    "error": "このアドレスは POST で使います。",
    "usage": 'POST /-/prior-art.json に {"draft": "下書きの文"}（Content-Type: application/json）を送ると、'
    "似た過去の提案を順位付きで返します。送った文は保存も記録もしません。",
    "max_draft_characters": MAX_DRAFT,
}

Scope = MutableMapping[str, Any]


class BadInput(ValueError):
    """A request whose body cannot be read as a draft (the message is shown to the sender)."""


# --- The statute resolver: the registry loaded once per process, on first use --------------------------

_registry: list[Registry] = []
_registry_lock = threading.Lock()
_registry_failed: list[bool] = []


def registry() -> Optional[Registry]:
    """The statute registry, or None when it cannot be loaded (the check then goes on without statutes)."""
    if _registry or _registry_failed:
        return _registry[0] if _registry else None
    with _registry_lock:
        if not _registry and not _registry_failed:
            try:
                _registry.append(load_registry())
            except Exception as exc:  # a broken statutes.yaml must not take the page down
                _registry_failed.append(True)
                print(f"kb: 提案前チェック: 法令レジストリを読めないため、法令の照合なしで動きます（{type(exc).__name__}）", file=sys.stderr)
    return _registry[0] if _registry else None


def cited_statutes(text: str) -> list[str]:
    """Ids of the registered statutes a text cites, each once, in the order first cited."""
    found = registry()
    if found is None:
        return []
    return list(dict.fromkeys(c.statute_id for c in extract_text(text, found) if c.statute_id))


async def run_check(datasette: Datasette, draft: str) -> CheckResult:
    """The ranking (raises DraftTooLong). The citation search, the one costly pure-Python part, runs in a thread."""
    db = datasette.get_database(DB_NAME)
    if len(draft) > MAX_DRAFT:  # refused before any work (check_draft words the message)
        return await check_draft(db, draft)
    statutes = await asyncio.to_thread(cited_statutes, draft) if draft.strip() else []
    return await check_draft(db, draft, lambda _text: statutes)


# --- Reading the request ------------------------------------------------------------------------------


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers") or ():
        if name.lower() == b"content-type":
            return value.split(b";", 1)[0].strip().lower().decode("latin-1")
    return ""


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refusing (BadInput) one over `limit` bytes without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadInput(BODY_TOO_LONG)
    body = bytearray()
    more = True
    while more:
        message = await request.receive()
        if message["type"] != "http.request":  # the client went away
            raise BadInput(BAD_FORM)
        body += message.get("body", b"")
        if len(body) > limit:
            raise BadInput(BODY_TOO_LONG)
        more = message.get("more_body", False)
    return bytes(body)


def form_draft(body: bytes) -> str:
    try:
        fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadInput(BAD_FORM) from exc
    return dict(fields).get("draft", "")


def json_draft(body: bytes) -> str:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadInput(BAD_JSON) from exc
    if not isinstance(data, dict):
        raise BadInput(BAD_JSON)
    draft = data.get("draft", "")
    if not isinstance(draft, str):
        raise BadInput(BAD_DRAFT)
    return draft


def clean_draft(draft: str) -> str:
    """Line ends as one character each: a browser sends a textarea's lines with CRLF."""
    return draft.replace("\r\n", "\n").replace("\r", "\n")


def log_failure(exc: BaseException) -> None:
    """Where the check failed, without the exception's message or any local value (they could quote the draft)."""
    frames = traceback.extract_tb(exc.__traceback__)
    place = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    print(f"kb: 提案前チェック failed: {type(exc).__name__} at {place}", file=sys.stderr)


async def checked(datasette: Datasette, draft: str) -> tuple[Optional[CheckResult], int, str]:
    """(result, status, message): a result with 200, or None with the status and the message to show."""
    db = datasette.get_database(DB_NAME)
    try:
        if not await db.table_exists("similar_terms"):
            return None, 503, NOT_BUILT_MESSAGE
        return await run_check(datasette, draft), 200, ""
    except DraftTooLong as exc:
        return None, 400, str(exc)
    except QueryInterrupted:
        return None, 503, TIMEOUT_MESSAGE
    except Exception as exc:  # logged without its message; the page says so in Japanese
        log_failure(exc)
        return None, 500, FAILED_MESSAGE


# --- Shaping the answer -------------------------------------------------------------------------------


async def statute_rows(datasette: Datasette, ids: set[str]) -> dict[str, dict[str, Any]]:
    """id → {id, name, title, url} for the statutes in the database; others are left out."""
    if not ids:
        return {}
    marks = ", ".join(f":s{i}" for i in range(len(ids)))
    params = {f"s{i}": v for i, v in enumerate(sorted(ids))}
    rows = await datasette.get_database(DB_NAME).execute(f"select id, name, title from statutes where id in ({marks})", params)
    return {r["id"]: {"id": r["id"], "name": r["name"], "title": r["title"], "url": row_url(datasette, "statutes", r["id"])} for r in rows}


def row_url(datasette: Datasette, table: str, pk: str) -> str:
    return datasette.urls.row(DB_NAME, table, tilde_encode(pk))


def statute_list(ids: list[str], known: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [known.get(sid) or {"id": sid, "name": sid, "title": sid, "url": None} for sid in ids]


async def shaped(datasette: Datasette, result: CheckResult) -> dict[str, Any]:
    """What both the page and the JSON show: counts, statutes by name, matches with their links."""
    ids = set(result.statutes) | {s for m in result.matches for s in m.shared_statutes}
    known = await statute_rows(datasette, ids)
    realised, possible, other = result.counts()
    return {
        "summary": result.summary,
        "characters": result.characters,
        "counts": {"matches": len(result.matches), "same_aim": len(result.same_aim), "realised": realised, "possible_under_current_rules": possible, "not_realised": other},
        "count_labels": {"realised": REALISED, "possible_under_current_rules": ALREADY_POSSIBLE, "not_realised": "実現できなかったもの"},
        "statutes": statute_list(result.statutes, known),
        "matches": [_match(datasette, rank, m, known) for rank, m in enumerate(result.matches, start=1)],
    }


def _match(datasette: Datasette, rank: int, m: Match, known: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "rank": rank,
        "proposal_id": m.proposal_id,
        "year": m.year,
        "era": m.era,
        "number": m.number,
        "title": m.title,
        "outcome": m.outcome,
        "proponents": m.proponents,
        "ministries": m.ministries,
        "score": m.score,
        "same_aim": m.score >= SAME_AIM,
        "shared_statutes": statute_list(m.shared_statutes, known),
        "shared_words": m.shared_words,
        "answer_heading": m.answer_heading,
        "answer_parts": m.answer_excerpt or [],
        "answer_excerpt": "".join(text for text, _ in m.answer_excerpt or []) or None,
        "url": row_url(datasette, "proposals", m.proposal_id),
    }


def as_json(datasette: Datasette, request: Request, answer: dict[str, Any]) -> dict[str, Any]:
    """The JSON answer: absolute proposal and statute URLs; the excerpt as plain text only."""
    out = {k: v for k, v in answer.items() if k != "count_labels"}
    out["statutes"] = [_absolute(datasette, request, s) for s in answer["statutes"]]
    out["matches"] = [
        {**{k: v for k, v in m.items() if k not in ("rank", "answer_parts")}, "url": datasette.absolute_url(request, m["url"]),
         "shared_statutes": [_absolute(datasette, request, s) for s in m["shared_statutes"]]}
        for m in answer["matches"]
    ]  # fmt: skip
    return {"ok": True, **out}


def _absolute(datasette: Datasette, request: Request, statute: dict[str, Any]) -> dict[str, Any]:
    return {**statute, "url": datasette.absolute_url(request, statute["url"]) if statute["url"] else None}


# --- Views --------------------------------------------------------------------------------------------


async def page(datasette: Datasette, request: Request, draft: str = "", status: int = 200, **context: Any) -> Response:
    html = await datasette.render_template(
        "prior_art.html",
        {"draft": draft, "max_draft": MAX_DRAFT, "undecided": UNDECIDED, "shown_proponents": SHOWN_PROPONENTS,
         "metadata": datasette.metadata(), "database": DB_NAME, **context},
        request=request,
    )  # fmt: skip
    return Response.html(html, status=status, headers=NO_STORE if request.method == "POST" else None)


async def prior_art_view(datasette: Datasette, request: Request) -> Response:
    """/-/prior-art: the form (GET), or the form with the ranked past proposals (POST)."""
    if request.method != "POST":
        return await page(datasette, request)
    try:
        draft = clean_draft(form_draft(await read_body(request)))
    except BadInput as exc:
        return await page(datasette, request, "", 400, error=str(exc))
    if not draft.strip():
        return await page(datasette, request, draft, notice=EMPTY_MESSAGE)
    result, status, message = await checked(datasette, draft)
    if result is None:
        return await page(datasette, request, draft, status, error=message)
    return await page(datasette, request, draft, answer=await shaped(datasette, result))


async def prior_art_json(datasette: Datasette, request: Request) -> Response:
    """/-/prior-art.json: POST a draft (JSON or form body), get the ranking as JSON."""
    if request.method != "POST":
        return Response.json(JSON_USAGE, status=405, headers={"allow": "POST", **NO_STORE})
    kind = _content_type(request.scope)
    try:
        body = await read_body(request)
        if kind == JSON_TYPE:
            draft = json_draft(body)
        elif kind in (FORM_TYPE, ""):
            draft = form_draft(body)
        else:
            raise BadInput(BAD_TYPE)
    except BadInput as exc:
        return Response.json({"ok": False, "error": str(exc)}, status=400, headers=NO_STORE)
    result, status, message = await checked(datasette, clean_draft(draft))
    if result is None:
        return Response.json({"ok": False, "error": message}, status=status, headers=NO_STORE)
    answer = await shaped(datasette, result)
    return Response.json(as_json(datasette, request, answer), headers=NO_STORE)


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Awaitable[Response]]]]:
    return [(r"^/-/prior-art$", prior_art_view), (r"^/-/prior-art\.json$", prior_art_json)]


@hookimpl
def skip_csrf(datasette: Datasette, scope: Scope) -> bool:
    """Tools POST JSON to /-/prior-art.json without a CSRF token. A browser cannot send that content type
    to another site without its consent (CORS preflight), and the answer changes nothing anyway."""
    path = scope.get("path")
    on_path = path == JSON_PATH or path == datasette.urls.path(JSON_PATH)
    return scope.get("type") == "http" and on_path and _content_type(scope) == JSON_TYPE


@hookimpl(trylast=True)
def menu_links(datasette: Datasette) -> list[dict[str, str]]:
    return [{"href": datasette.urls.path(PATH), "label": "提案前チェック（過去の似た提案）"}]
