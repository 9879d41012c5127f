"""Hardening of the served site against hostile requests (issue #17; figures in docs/reliability.md).

Datasette's plugin hooks only:

- `prepare_connection` (a hook wrapper, after the other plugins): SQLite limits per
  connection (no single value over 8 MiB, SQL text at most 100 kB, shallow expressions, no
  ATTACH …), a 64 MiB cap on SQLite's heap, an authorizer that refuses writes, ATTACH, PRAGMAs
  other than reading the schema and the functions that make huge values cheaply (zeroblob,
  randomblob) or reach outside (load_extension); guards on the functions whose single call is
  quadratic in its arguments (instr, replace, trim, like, glob) or loops on a width (printf,
  format); and a row factory that stops a query whose rows pass 8 MiB + 12 KiB a row of JSON.
  `sql_time_limit_ms` cannot stop one long function call nor the preparing of a statement, and
  a result is built in memory before it is sent: these bound what one query can make the
  server do and allocate.
- `asgi_wrapper`: security headers on every response (a Content-Security-Policy allowing only
  the site's own scripts, by hash for Datasette's few inline ones; no framing; nosniff; a
  referrer policy), and a 400 page for parameters Datasette would fail on with a 500.
- `handle_exception` / `forbidden`: Japanese error pages (site header, search box, link to
  the front page) or JSON for `.json` URLs; an error caused by the request's parameters inside
  Datasette is a 400, never a 500.
- `prepare_jinja2_environment`: the `kb_markdown` filter (kb.core.markdown: raw HTML shown as
  text, no images loaded, only http/https/mailto links) and `kb_sql_help`, the Japanese
  explanation of a refused SQL query shown on the query page (templates/query-kb.html).

`kb serve --public` turns arbitrary SQL off with Datasette's own `default_allow_sql` setting
(kb/serve.py); canned queries keep working and the 403 page says so.
"""

# No `from __future__ import annotations` here: Datasette loads plugins outside sys.modules.
import base64
import errno
import hashlib
import re
import sqlite3
import sys
import traceback
import weakref
from collections.abc import Awaitable, Callable, Generator, Iterable, MutableMapping
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

from datasette import hookimpl
from datasette.app import Datasette
from datasette.database import QueryInterrupted
from datasette.utils.asgi import Base400, Request, Response
from datasette.views.base import DatasetteError
from jinja2 import Environment
from markupsafe import Markup

from kb.core.markdown import render_markdown
from kb.search.query import search_snippet

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MiB = 1024 * 1024
# Largest string, blob or row SQLite will make or read. The database's largest value is a
# proposal's row, about the size of its file: proposal files are at most 2 MiB
# (kb/files/disk.py MAX_FILE_BYTES; `kb build` refuses bigger ones), and the biggest value
# stored today is an 8 kB row (proposals 2024-0071; FTS blocks are 4 kB). 8 MiB leaves 4× room
# over the largest file and stops `hex(zeroblob(400000000))`-style values at once
# ("string or blob too big"): building 8 MiB takes milliseconds, so one function call can
# no longer run for seconds where the time limit cannot reach it.
MAX_VALUE_BYTES = 8 * MiB
# How much one query may return, counted as its size in Datasette's JSON (the costliest
# output: a character outside ASCII is written as \uXXXX, 6 bytes; a blob as base64, counted 2
# bytes a byte): RESULT_FLOOR_BYTES plus ROW_ALLOWANCE_BYTES for each row. Answering JSON
# costs the server about 4.3 times that at its peak (measured: 30 MB of JSON, 128 MB; 57 MB,
# 261 MB), so a page or a researcher's query — at most 1,001 rows (max_returned_rows) — can
# return at most 8 MiB + 1,001 × 12 KiB ≈ 20 MiB of JSON, about 85 MB of server memory. A
# whole proposal is about 16 kB of JSON today (8 kB files), so 1,000 of them fit; the site's
# own queries that list many small rows (a statute's citing proposals: 10,000 rows at the
# 10,000-proposal benchmark corpus) get the allowance of every row and keep working.
RESULT_FLOOR_BYTES = 8 * MiB
ROW_ALLOWANCE_BYTES = 12 * 1024
SQLITE_LIMITS: dict[int, int] = {
    sqlite3.SQLITE_LIMIT_LENGTH: MAX_VALUE_BYTES,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: 100_000,  # the longest canned query is under 1 kB
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 100,  # Datasette's table SQL stays under 20 even with many filters
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 50,
    # Prepared-statement size: CTEs referenced twice are compiled twice, so 20 nested ones would
    # compile to millions of instructions while preparing, where no time limit applies.
    sqlite3.SQLITE_LIMIT_VDBE_OP: 25_000,
    sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: 1_000,
    sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER: 1_000,
    sqlite3.SQLITE_LIMIT_FUNCTION_ARG: 100,
    sqlite3.SQLITE_LIMIT_ATTACHED: 0,
    sqlite3.SQLITE_LIMIT_TRIGGER_DEPTH: 1,
}
# SQLite's own heap, for the whole process (PRAGMA hard_heap_limit): what SQLite allocates
# beyond the result — json_group_array()'s buffer (it grows past SQLITE_LIMIT_LENGTH until the
# end: 394 MB in 3 s without this), CTEs that are copied for every reference while the
# statement is prepared (2^30 copies: 14 GB in 120 s, before any time limit applies) — fails
# with "out of memory" at this size. Serving needs far less: a 2 MB page cache per connection
# (3 SQL threads) and the prepared statements.
SQLITE_HEAP_LIMIT = 64 * MiB
# Functions whose one call takes time proportional to the product of two argument lengths
# (SQLite compares the needle or pattern at every position), so a single call on 8 MB values
# ran for 30–60 s where sql_time_limit_ms cannot interrupt it. They are replaced, per
# connection, by a guard: the common calls (text operands; LIKE patterns like '%word%') are
# answered in Python with linear-time search (FAST_PATHS); the rest is refused when the
# length product passes WORK_BUDGET, or else handed to SQLite's own function on a private
# in-memory connection (same results, some µs more per call).
WORK_BUDGET = 20_000_000  # ≈ 0.1 s for the slowest of them (like) on this machine
GUARDED_FUNCTIONS: dict[tuple[str, int], tuple[int, int]] = {  # (name, arguments) → the two arguments whose lengths multiply
    ("instr", 2): (0, 1),
    ("replace", 3): (0, 1),
    ("trim", 2): (0, 1),
    ("ltrim", 2): (0, 1),
    ("rtrim", 2): (0, 1),
    ("like", 2): (0, 1),
    ("like", 3): (0, 1),
    ("glob", 2): (0, 1),
}
SNIPPET_MAX_TEXT = 300_000  # characters: ~0.2 s of search_snippet(); a 2 MiB file has at most ~700,000
SNIPPET_MAX_QUERY = 1_000
# printf()/format() stay for researchers formatting numbers, but "%.*c" with a precision of
# 400,000,000 loops that many times in one call (4 s; 2,000,000,000 runs over 30 s): widths
# and precisions over MAX_PRINTF_WIDTH are refused.
MAX_PRINTF_WIDTH = 100_000
PRINTF_SPEC = re.compile(r"%[-+ 0#!,]*(\*|\d+)?(?:\.(\*|\d+))?")
# Functions that make a huge value from a small query, or reach outside the database;
# json_patch() merges objects key by key against each other (quadratic in the keys).
DENIED_FUNCTIONS = frozenset(
    {"zeroblob", "randomblob", "load_extension", "fts3_tokenizer", "readfile", "writefile", "edit", "json_patch"}
)
# PRAGMAs that only describe the schema (Datasette's pages and FTS5 read these); any argument allowed.
SCHEMA_PRAGMAS = frozenset(
    {
        "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list",
        "database_list", "function_list", "module_list", "pragma_list", "collation_list", "compile_options",
    }
)  # fmt: skip
# PRAGMAs that read a value when given no argument and change it when given one.
VALUE_PRAGMAS = frozenset(
    {
        "schema_version", "data_version", "page_count", "page_size", "max_page_count", "freelist_count",
        "encoding", "user_version", "application_id",
    }
)  # fmt: skip
_WRITE_ACTION_NAMES = (
    "SQLITE_ALTER_TABLE", "SQLITE_ANALYZE", "SQLITE_CREATE_INDEX", "SQLITE_CREATE_TABLE", "SQLITE_CREATE_TEMP_INDEX",
    "SQLITE_CREATE_TEMP_TABLE", "SQLITE_CREATE_TEMP_TRIGGER", "SQLITE_CREATE_TEMP_VIEW", "SQLITE_CREATE_TRIGGER",
    "SQLITE_CREATE_VIEW", "SQLITE_CREATE_VTABLE", "SQLITE_DELETE", "SQLITE_DROP_INDEX", "SQLITE_DROP_TABLE",
    "SQLITE_DROP_TEMP_INDEX", "SQLITE_DROP_TEMP_TABLE", "SQLITE_DROP_TEMP_TRIGGER", "SQLITE_DROP_TEMP_VIEW",
    "SQLITE_DROP_TRIGGER", "SQLITE_DROP_VIEW", "SQLITE_DROP_VTABLE", "SQLITE_INSERT", "SQLITE_REINDEX",
    "SQLITE_UPDATE", "SQLITE_TRANSACTION", "SQLITE_SAVEPOINT", "SQLITE_ATTACH", "SQLITE_DETACH",
)  # fmt: skip
SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"})
DENIED_ACTIONS = frozenset(getattr(sqlite3, name) for name in _WRITE_ACTION_NAMES if hasattr(sqlite3, name))

# Security headers. Scripts: the site's own files and, by hash, the inline scripts of the
# templates (Datasette's menu closer, SQL editor set-up and table page flag). Styles allow
# inline `style=` attributes, which Datasette's templates use for colours; no remote anything.
STATIC_HEADERS: dict[str, str] = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin",
}
CSP_TEMPLATE = (
    "default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.DOTALL | re.IGNORECASE)
# Values a templated inline script can take: table.html writes `DATASETTE_ALLOW_FACET = {{ … }};`.
SCRIPT_VARIABLES: dict[str, tuple[str, ...]] = {"datasette_allow_facet": ("true", "false")}

OUR_CODE = tuple(str(p) for p in (Path(__file__).resolve().parent, Path(__file__).resolve().parents[2] / "kb"))
PARAMETER_ERRORS = (ValueError, OverflowError, TypeError, KeyError, IndexError, sqlite3.ProgrammingError)
MAX_FACETS = 20  # each `_facet` is one more query of up to facet_time_limit_ms


class ResultTooLarge(sqlite3.OperationalError):
    """A query's rows passed their budget (an OperationalError, so Datasette answers 400 with the message)."""


class ResultBudget:
    """Row factory that counts the JSON size of one query's rows and stops past the budget.

    The budget grows with the rows (RESULT_FLOOR_BYTES + ROW_ALLOWANCE_BYTES a row). Datasette
    gives each query a new cursor, so a new cursor starts a new count; the cursor is held
    weakly so that counting never keeps a statement alive.
    """

    def __init__(self, floor: int = RESULT_FLOOR_BYTES, per_row: int = ROW_ALLOWANCE_BYTES) -> None:
        self.floor = floor
        self.per_row = per_row
        self.cursor: Optional[weakref.ref[sqlite3.Cursor]] = None
        self.used = 0
        self.budget = floor

    def __call__(self, cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> sqlite3.Row:
        if self.cursor is None or self.cursor() is not cursor:
            self.cursor = weakref.ref(cursor)
            self.used = 0
            self.budget = self.floor
        used = self.used
        for value in row:
            if value.__class__ is str:
                used += len(value) if value.isascii() else 6 * len(value)
            elif value.__class__ is bytes:
                used += 2 * len(value)
        self.used = used
        self.budget += self.per_row
        if used > self.budget:
            raise ResultTooLarge(
                f"結果が大きすぎるため止めました（1 回に返せるのは、JSON にしたときの大きさで {self.floor // MiB} MB と"
                f" 1 行につき {self.per_row // 1024} KB まで。日本語は 1 文字 6 バイトに数えます）。"
                "列を減らすか、limit・_size で行を減らしてください。"
            )
        return sqlite3.Row(cursor, row)


def authorize(action: int, arg1: Optional[str], arg2: Optional[str], database: Optional[str], source: Optional[str]) -> int:
    """SQLite authorizer: reading is allowed; writes, ATTACH, most PRAGMAs and DENIED_FUNCTIONS are not."""
    if action == sqlite3.SQLITE_UPDATE and (arg1 or "").lower() in SCHEMA_TABLES:
        # SQLite asks this while it sets up a virtual table (FTS5, json_each, pragma_…()); the
        # schema itself cannot change: writable_schema is refused and the database is read-only.
        return sqlite3.SQLITE_OK
    if action in DENIED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (arg2 or "").lower() in DENIED_FUNCTIONS else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA:
        name = (arg1 or "").lower()
        if name in SCHEMA_PRAGMAS or (name in VALUE_PRAGMAS and arg2 is None):
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


class FunctionTooCostly(ValueError):
    """Raised inside a guarded SQL function; SQLite reports "user-defined function raised exception"."""


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes)) else 0 if value is None else 24


class Guards:
    """Guarded versions of SQLite's quadratic functions and of printf(), for one connection.

    The calls are answered by SQLite's own functions on a private in-memory connection with
    the same limits, so results (text or blob rules, NULLs, LIKE's ASCII case folding, GLOB's
    classes) are exactly SQLite's.
    """

    def __init__(self) -> None:
        self.helper = sqlite3.connect(":memory:", check_same_thread=False)
        for limit, value in SQLITE_LIMITS.items():
            self.helper.setlimit(limit, value)

    def call(self, name: str, args: tuple[Any, ...]) -> Any:
        placeholders = ", ".join("?" * len(args))
        return self.helper.execute(f"select {name}({placeholders})", args).fetchone()[0]

    def guarded(self, name: str, first: int, second: int) -> Callable[..., Any]:
        def guard(*args: Any) -> Any:
            if _length(args[first]) * _length(args[second]) > WORK_BUDGET:
                raise FunctionTooCostly(name)
            return self.call(name, args)

        return guard

    def printf(self, name: str) -> Callable[..., Any]:
        def guard(*args: Any) -> Any:
            if args and isinstance(args[0], str):
                specs = PRINTF_SPEC.findall(args[0])
                numbers = [int(n) for spec in specs for n in spec if n.isdigit()]
                if any(n > MAX_PRINTF_WIDTH for n in numbers):
                    raise FunctionTooCostly(name)
                starred = any("*" in spec for spec in specs)
                if starred and any(isinstance(a, (int, float)) and abs(a) > MAX_PRINTF_WIDTH for a in args[1:]):
                    raise FunctionTooCostly(name)
            return self.call(name, args)

        return guard

    def install(self, conn: sqlite3.Connection) -> None:
        for (name, arguments), (first, second) in GUARDED_FUNCTIONS.items():
            guard = self.guarded(name, first, second)
            fast = FAST_PATHS.get((name, arguments))
            conn.create_function(name, arguments, _with_fast_path(fast, guard) if fast else guard, deterministic=True)
        for name in ("printf", "format"):
            conn.create_function(name, -1, self.printf(name), deterministic=True)
        conn.create_function("search_snippet", 2, bounded_snippet, deterministic=True)


# Fast paths for the common calls, in Python with linear-time string search (CPython's
# str.find/in/replace/count use two-way search for long needles): the same results as
# SQLite's, without the helper round trip. Anything else (numbers, blobs, LIKE with `_` or an
# inner `%`, results near the value limit) returns NOT_HANDLED and takes the guarded path.
NOT_HANDLED = object()
ASCII_FOLD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
ASCII_LETTER = re.compile("[A-Za-z]")


def _fast_like(pattern: Any, text: Any) -> Any:
    """`text LIKE pattern` for str operands and patterns made of one literal with `%` at either end."""
    if pattern.__class__ is not str or text.__class__ is not str or "_" in pattern:
        return NOT_HANDLED
    limit = SQLITE_LIMITS[sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH]
    if len(pattern) * 4 > limit and len(pattern.encode("utf-8", "replace")) > limit:
        return NOT_HANDLED  # SQLite refuses it ("LIKE or GLOB pattern too complex"): the same here
    inner = pattern.strip("%")
    if "%" in inner:
        return NOT_HANDLED
    starts, ends = pattern.startswith("%"), pattern.endswith("%")
    if ASCII_LETTER.search(inner):  # LIKE folds ASCII letters only: fold the UTF-8 bytes (non-ASCII bytes are ≥ 0x80)
        try:
            return _match(inner.encode().translate(ASCII_FOLD), text.encode().translate(ASCII_FOLD), starts, ends)
        except UnicodeEncodeError:
            return NOT_HANDLED
    return _match(inner, text, starts, ends)


def _match(inner: Any, text: Any, starts: bool, ends: bool) -> int:
    if starts and ends:
        return int(inner in text)
    if starts:
        return int(text.endswith(inner))
    if ends:
        return int(text.startswith(inner))
    return int(text == inner)


def _fast_instr(text: Any, needle: Any) -> Any:
    if text is None or needle is None:
        return None
    if isinstance(text, str) and isinstance(needle, str):
        return text.find(needle) + 1
    if isinstance(text, bytes) and isinstance(needle, bytes):
        return text.find(needle) + 1
    return NOT_HANDLED


def _fast_replace(text: Any, old: Any, new: Any) -> Any:
    if text is None or old is None or new is None:
        return None
    if text.__class__ is not str or old.__class__ is not str or new.__class__ is not str:
        return NOT_HANDLED
    if old == "":
        return text
    grown = len(text) + text.count(old) * (len(new) - len(old))
    # Over the value limit (UTF-8 up to 4 bytes a character): let SQLite refuse it, never build it here.
    if grown > (MAX_VALUE_BYTES if text.isascii() and new.isascii() else MAX_VALUE_BYTES // 4):
        return NOT_HANDLED
    return text.replace(old, new)


def _fast_trim(kind: str) -> Callable[[Any, Any], Any]:
    def trim(text: Any, chars: Any) -> Any:
        if text is None or chars is None:
            return None
        if text.__class__ is not str or chars.__class__ is not str or len(chars) > 64:
            return NOT_HANDLED
        return text.strip(chars) if kind == "trim" else text.lstrip(chars) if kind == "ltrim" else text.rstrip(chars)

    return trim


FAST_PATHS: dict[tuple[str, int], Callable[..., Any]] = {
    ("like", 2): _fast_like,
    ("instr", 2): _fast_instr,
    ("replace", 3): _fast_replace,
    ("trim", 2): _fast_trim("trim"),
    ("ltrim", 2): _fast_trim("ltrim"),
    ("rtrim", 2): _fast_trim("rtrim"),
}


def _with_fast_path(fast: Callable[..., Any], guarded: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        result = fast(*args)
        return guarded(*args) if result is NOT_HANDLED else result

    return call


def bounded_snippet(text: Optional[str], query: Optional[str]) -> Optional[str]:
    """The site's search_snippet() (kb.search) on at most SNIPPET_MAX_TEXT characters of text.

    Its cost is linear in the text but in Python (about 0.7 µs a character: 8 MB took 12 s in
    one call); no stored section comes near the cap, so only made-up values are cut.
    """
    if isinstance(text, str) and len(text) > SNIPPET_MAX_TEXT:
        text = text[:SNIPPET_MAX_TEXT]
    if isinstance(query, str) and len(query) > SNIPPET_MAX_QUERY:
        query = query[:SNIPPET_MAX_QUERY]
    return search_snippet(text, query)


# The database is read through memory-mapped pages, not copied into SQLite's 2 MB page cache: it is
# immutable while served, and the pages a list or facet reads stay in the OS cache for every connection.
SQLITE_MMAP_BYTES = 4 << 30


def harden_connection(conn: sqlite3.Connection) -> None:
    """Limits, authorizer, guarded functions and result budget on one connection (tests and benchmarks use it too)."""
    conn.execute(f"PRAGMA hard_heap_limit = {SQLITE_HEAP_LIMIT}")  # process-wide; before the authorizer refuses PRAGMAs
    conn.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
    for limit, value in SQLITE_LIMITS.items():
        conn.setlimit(limit, value)
    Guards().install(conn)
    conn.set_authorizer(authorize)
    conn.row_factory = ResultBudget()


@hookimpl(wrapper=True)
def prepare_connection(conn: sqlite3.Connection, database: str) -> Generator[None, None, None]:
    """After every other plugin's prepare_connection (a hook wrapper), so that the guards win."""
    result = yield
    # Datasette's own in-memory databases are never open to visitors: the catalogue writes to itself,
    # and /-/versions creates an FTS5 table in "_memory" to learn the SQLite build's features.
    if database not in ("_internal", "_memory"):
        harden_connection(conn)
    return result


# --- Markdown and SQL error help for templates -------------------------------------------------

SQL_HELP: tuple[tuple[str, str], ...] = (
    (
        "statement must be a select",
        "このサイトで実行できる SQL は select 文（with で始まるものを含む）だけです。"
        "insert・update・delete・create・drop・attach・pragma などは使えません。",
    ),
    ("disallowed pragma", "PRAGMA 文は使えません。表の定義は select * from pragma_table_info('表名') で読めます。"),
    ("one statement at a time", "SQL は 1 回に 1 文だけ実行できます（; の後ろの 2 文目は使えません）。"),
    ("parser stack overflow", "式の入れ子が深すぎます（100 段まで）。"),
    (
        "not authorized",
        "この SQL には、このサイトで使えない操作が含まれています。zeroblob()・randomblob()・load_extension() などの関数、"
        "ATTACH・DETACH、設定を変える PRAGMA、書き込み（insert・update・delete・create・drop）は使えません。",
    ),
    ("string or blob too big", f"値が大きすぎます。1 つの値（文字列・BLOB・行）は {MAX_VALUE_BYTES // MiB} MB までです。"),
    ("too many terms in compound select", "union などでつないだ select が多すぎます（50 個まで）。"),
    ("expression tree is too large", "式の入れ子が深すぎます（100 段まで）。"),
    ("statement too long", "SQL が長すぎます（100,000 バイトまで）。"),
    ("too many sql variables", "パラメータが多すぎます（1,000 個まで）。"),
    ("like or glob pattern too complex", "LIKE・GLOB のパターンが長すぎます（1,000 バイトまで）。"),
    ("too many attached databases", "ATTACH は使えません。"),
    (
        "user-defined function raised exception",
        f"関数の呼び出しを止めました。instr()・replace()・trim()・like()・glob() は長い文字列どうし（長さの積が {WORK_BUDGET // 10_000:,} 万まで）、"
        f"printf()・format() は幅・精度 {MAX_PRINTF_WIDTH:,} までです（このサイトの関数 search_snippet() などの失敗もこう表示されます）。",
    ),
)


def sql_help(error: Any) -> str:
    """Japanese explanation of an SQLite error message, or '' when there is none to add."""
    text = str(error or "").lower()
    return next((help_text for needle, help_text in SQL_HELP if needle in text), "")


@hookimpl
def prepare_jinja2_environment(env: Environment) -> None:
    env.filters["kb_markdown"] = lambda text: Markup(render_markdown(text))
    env.globals["kb_sql_help"] = sql_help


# --- Security headers ----------------------------------------------------------------------------


def _script_hash(body: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii") + "'"


def inline_script_hashes(env: Environment) -> list[str]:
    """CSP hashes of every inline <script> in the templates Datasette would render (overrides first)."""
    loader = env.loader
    if loader is None:
        return []
    hashes: set[str] = set()
    for name in loader.list_templates():
        if not name.endswith(".html"):
            continue
        source = loader.get_source(env, name)[0]
        for match in INLINE_SCRIPT.finditer(source):
            if "src=" in match.group("attrs").lower():
                continue
            hashes.update(_script_hash(body) for body in _rendered_bodies(env, match.group("body")))
    return sorted(hashes)


def _rendered_bodies(env: Environment, body: str) -> Iterable[str]:
    if "{{" not in body and "{%" not in body:
        return [body]
    bodies = [body]
    for variable, values in SCRIPT_VARIABLES.items():
        if variable in body:
            bodies = [b.replace("{{ " + variable + " }}", value) for b in bodies for value in values]
    return bodies


class SecurityHeaders:
    """The headers added to every response; the CSP is computed once, from the templates."""

    def __init__(self, datasette: Datasette) -> None:
        self.datasette = datasette
        self._headers: Optional[list[tuple[bytes, bytes]]] = None

    def headers(self) -> list[tuple[bytes, bytes]]:
        if self._headers is None:
            csp = CSP_TEMPLATE.format(hashes=" ".join(inline_script_hashes(self.datasette.jinja_env)))
            pairs = {**STATIC_HEADERS, "content-security-policy": csp}
            self._headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs.items()]
        return self._headers


def _with_headers(message: Message, extra: list[tuple[bytes, bytes]]) -> Message:
    present = {name.lower() for name, _ in message.get("headers", [])}
    headers = list(message.get("headers", [])) + [(k, v) for k, v in extra if k not in present]
    return {**message, "headers": headers}


# --- Parameters Datasette would fail on -----------------------------------------------------------


def parameter_problem(request: Request) -> Optional[str]:
    """A Japanese message for parameters that Datasette cannot handle, checked before it sees them."""
    args = request.args
    facets = 0
    if "\x00" in str(request.scope.get("path", "")):
        return "URL に使えない文字（NUL）が含まれています。"
    for key in args.keys():
        values: list[str] = args.getlist(key)
        if "\x00" in key or any("\x00" in value for value in values):
            return "URL のパラメータに使えない文字（NUL）が含まれています。"
        if key == "_timelimit" and not all(re.fullmatch(r"\d{1,9}", value) for value in values):
            return "_timelimit はミリ秒を表す 0 以上の整数で指定してください。"
        if key.startswith("_facet") and key != "_facet_size":
            facets += len(values)
    if facets > MAX_FACETS:
        return f"ファセット（_facet）は 1 回に {MAX_FACETS} 個までです。"
    return None


@hookimpl
def asgi_wrapper(datasette: Datasette) -> Callable[[ASGIApp], ASGIApp]:
    security = SecurityHeaders(datasette)

    def wrap(app: ASGIApp) -> ASGIApp:
        async def hardened(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = _with_headers(message, security.headers())
                await send(message)

            request = Request(scope, receive)
            problem = parameter_problem(request)
            if problem is not None:
                response = await error_response(datasette, request, 400, problem, "")
                await response.asgi_send(send_with_headers)
                return
            await app(scope, receive, send_with_headers)

        return hardened

    return wrap


# --- Error pages ---------------------------------------------------------------------------------

TITLES = {
    400: "URL の指定に誤りがあります",
    403: "この操作は許可されていません",
    404: "ページが見つかりません",
    500: "サーバーで問題が起きました",
}
MESSAGES = {
    400: "URL のパラメータ（? より後ろ）を読み取れなかったため、表示できませんでした。",
    404: "お探しのページは見つかりませんでした。URL を確かめるか、検索してください。",
    500: "ページを表示する途中で問題が起きました。時間をおいてもう一度お試しください。",
}
PUBLIC_SQL_MESSAGE = (
    "このサイトでは任意の SQL の実行を止めています。トップページの「集計と便利な問い合わせ」（登録済みのクエリ）と、"
    "表の絞り込み・CSV・JSON、データベースのダウンロードは使えます。"
)
MEMORY_MESSAGE = (
    f"問い合わせに必要なメモリーが上限（{SQLITE_HEAP_LIMIT // MiB} MB）を超えたため止めました。"
    "CTE や副問い合わせの重ね方、集計する行の数を見直してください。"
)
TIME_LIMIT_MESSAGE = "問い合わせが時間の上限（{seconds:g} 秒）を超えたため止めました。条件を絞るか、limit で行を減らしてください。"


def _from_our_code(tb: Optional[TracebackType]) -> bool:
    """True when a frame of the traceback is in kb/ or site/plugins/ (a bug of ours, not bad input)."""
    return any(frame.filename.startswith(OUR_CODE) for frame in traceback.extract_tb(tb))


def _sort_message(message: str) -> Optional[str]:
    found = re.fullmatch(r"Cannot sort table by (.*)", message, re.DOTALL)
    if found:
        return f"この列では並べ替えられません：{found.group(1)[:100]}"
    if message.startswith("Cannot use _sort and _sort_desc"):
        return "_sort と _sort_desc は同時に使えません。"
    return None


TOO_FEW_KEYS_MESSAGE = (
    "行の URL に主キーの値が足りません。複数の列が主キーの表では、主キーの列の順に値をカンマで区切ってすべて指定します"
    "（例: 条ごとの引用数の表 statute_articles では …/statute_articles/425AC0000000027,9）。"
)


def _too_few_key_values(request: Request, exception: BaseException) -> bool:
    """A row URL giving fewer values than the table's primary key has columns: Datasette 0.65's row view
    binds the missing ones as `:p1`, `:p2` … and fails (the row cannot exist)."""
    return (
        isinstance(exception, sqlite3.ProgrammingError)
        and "pks" in request.url_vars
        and re.fullmatch(r"You did not supply a value for binding parameter :p\d+\.", str(exception)) is not None
        and not _from_our_code(exception.__traceback__)
    )


def classify(datasette: Datasette, request: Request, exception: BaseException) -> tuple[int, str, str]:
    """(status, Japanese message, technical detail) for an exception raised while answering a request."""
    if isinstance(exception, Base400):
        status = exception.status
        detail = str(exception.args[0]) if exception.args else ""
        return status, MESSAGES.get(status, detail), detail if status != 404 else ""
    if isinstance(exception, QueryInterrupted) or (
        isinstance(exception, DatasetteError) and exception.title == "SQL Interrupted"
    ):  # the CSV view lets QueryInterrupted through; the others wrap it
        seconds = datasette.setting("sql_time_limit_ms") / 1000
        return 400, TIME_LIMIT_MESSAGE.format(seconds=seconds), ""
    if isinstance(exception, OSError) and exception.errno == errno.ENAMETOOLONG:  # /-/static/<300 characters>
        return 404, MESSAGES[404], ""
    if isinstance(exception, MemoryError):  # SQLite's hard_heap_limit (SQLITE_NOMEM) reaches Python as MemoryError
        return 400, MEMORY_MESSAGE, ""
    if isinstance(exception, DatasetteError):
        message = str(exception.message)
        if is_public(datasette) and exception.status < 500 and ("sql" in request.args or "_where" in request.args):
            return 403, PUBLIC_SQL_MESSAGE, message  # refused before Datasette checked the permission
        sort = _sort_message(message)
        if sort is not None:
            return 400, sort, message
        if exception.status < 500:
            detail = "" if exception.message_is_html else message
            return exception.status, sql_help(message) or MESSAGES.get(exception.status, message), detail
    elif _too_few_key_values(request, exception):
        return 404, MESSAGES[404], TOO_FEW_KEYS_MESSAGE
    elif isinstance(exception, PARAMETER_ERRORS) and request.query_string and not _from_our_code(exception.__traceback__):
        # Datasette parsing a parameter (int("abc"), json.loads("[") …): the request's fault.
        return 400, MESSAGES[400], f"{type(exception).__name__}: {exception}"
    print(f"kb: error 500 for {request.path}?{request.query_string}", file=sys.stderr)
    traceback.print_exception(exception)
    return 500, MESSAGES[500], ""


async def error_response(datasette: Datasette, request: Request, status: int, message: str, detail: str) -> Response:
    title = TITLES.get(status, f"エラー {status}")
    if request.path.split("?")[0].endswith(".json"):
        body = {"ok": False, "error": message, "detail": detail or None, "status": status, "title": title}
        return Response.json(body, status=status)
    context = {"status": status, "title": title, "error": message, "kb_detail": detail}
    if "csrftoken" not in request.scope:  # answered by asgi_wrapper, outside Datasette's CSRF middleware
        request = Request({**request.scope, "csrftoken": lambda: ""}, request.receive)
    html = await datasette.render_template("error.html", context, request=request)
    return Response.html(html, status=status)


@hookimpl(wrapper=True)
def handle_exception(
    datasette: Datasette, request: Request, exception: BaseException
) -> Generator[None, list[Any], list[Callable[[], Awaitable[Response]]]]:
    """Our page instead of Datasette's default one (a pluggy hook wrapper replacing the results).

    Datasette awaits every handler's result; its default one prints a rich traceback with every
    local variable for each 404 and bad parameter (about a second of CPU each), so it is dropped
    before it runs. Real 500s still print their traceback (classify).
    """
    yield

    async def inner() -> Response:
        status, message, detail = classify(datasette, request, exception)
        return await error_response(datasette, request, status, message, detail)

    return [inner]


def is_public(datasette: Datasette) -> bool:
    """True in `kb serve --public` mode (arbitrary SQL off)."""
    return not datasette.setting("default_allow_sql")


@hookimpl(tryfirst=True)
def forbidden(datasette: Datasette, request: Request, message: str) -> Callable[[], Awaitable[Response]]:
    async def inner() -> Response:
        sql_refused = message == "execute-sql" or "sql" in request.args or "_where" in request.args
        text = PUBLIC_SQL_MESSAGE if sql_refused and is_public(datasette) else "この操作は許可されていません。"
        return await error_response(datasette, request, 403, text, message)

    return inner
