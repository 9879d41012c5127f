"""Section Markdown → safe HTML for the proposal page (a pure function, so the build can call it too).

A proposal's text comes from the public through pull requests, so the HTML it becomes may
neither run anything nor make the reader's browser fetch anything:

- raw HTML (`<script>`, `<img>`, `<iframe>` …) is not parsed: it is shown as text, escaped;
- images load nothing: `![説明](https://…)` becomes a link to the image, with its description as text;
- links keep only http, https and mailto targets; any other (`javascript:`, `data:`, relative
  paths) keeps its text and loses the link; every link gets `rel="nofollow noopener noreferrer"`;
- bare `http(s)://` addresses in the text become links, as they did with the bleach renderer.

What the files use renders as before (paragraphs, `- ` lists, numbered lists, emphasis,
code), and GitHub-style tables, which docs/format.md allows, become tables. Escaping follows
Jinja's (`"` → `&#34;`, `'` → `&#39;`), so text reads the same here as in the rest of the page.

Most sections are plain paragraphs and `- ` lists, for which markdown-it's work (a token per line,
rules tried per character) is ~15 × the work of the result: `plain_html` writes the same HTML
directly for text that has nothing else in it, and every other text goes through the one parser
instance. The build stores the HTML of the texts that need the parser (kb.db.rows.rendered_rows);
the proposal page shows that, and writes plain text with `render_plain` — no parser per request,
and the database does not hold every text twice. tests/test_render_at_build.py compares the two
ways on every proposal and on random text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape as _html_escape
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.common.utils import mdTrim
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

SAFE_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"
# A bare web address inside text: ASCII URL characters only, so Japanese text right after it is not taken in.
BARE_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
TRAILING_PUNCTUATION = ".,;:!?'\")]"


def escape(text: str) -> str:
    """HTML-escape like Jinja/markupsafe (`&#34;` and `&#39;` for quotes)."""
    return _html_escape(text, quote=False).replace('"', "&#34;").replace("'", "&#39;")


def safe_link(url: str) -> str | None:
    """The URL when its scheme is http/https (with a host) or mailto, else None."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host part
        return None
    scheme = parts.scheme.lower()
    if scheme not in SAFE_LINK_SCHEMES:
        return None
    if scheme != "mailto" and not parts.netloc:
        return None
    return url


def _bare_urls(state: StateCore) -> None:
    """Core rule: turn http(s) addresses in plain text (not inside a link or code) into links."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        inside_link = 0
        for token in block.children:
            if token.type == "link_open":
                inside_link += 1
            elif token.type == "link_close":
                inside_link -= 1
            if token.type != "text" or inside_link or "://" not in token.content:
                children.append(token)
                continue
            children.extend(_split_urls(token))
        block.children = children


def _split_urls(token: Token) -> list[Token]:
    out: list[Token] = []
    text = token.content
    position = 0
    for match in BARE_URL.finditer(text):
        url = match.group(0).rstrip(TRAILING_PUNCTUATION)
        if safe_link(url) is None:
            continue
        start, end = match.start(), match.start() + len(url)
        if start > position:
            out.append(Token("text", "", 0, content=text[position:start]))
        link = Token("link_open", "a", 1, attrs={"href": url}, markup="linkify", info="auto")
        out.extend([link, Token("text", "", 0, content=url), Token("link_close", "a", -1, markup="linkify")])
        position = end
    if position < len(text):
        out.append(Token("text", "", 0, content=text[position:]))
    return out


def _filter_links(state: StateCore) -> None:
    """Core rule: links to unsafe targets lose the link and keep their text; safe ones get `rel`."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        kept: list[Token] = []
        written: list[bool] = []  # per open link: is it kept?
        for token in block.children:
            if token.type == "link_open":
                href = safe_link(str(token.attrGet("href") or ""))
                written.append(href is not None)
                if href is None:
                    continue
                token.attrs = {"href": href, "rel": LINK_REL}
            elif token.type == "link_close" and not (written.pop() if written else False):
                continue
            kept.append(token)
        block.children = kept


class SafeRenderer(RendererHTML):
    """markdown-it's HTML renderer with images as links and Jinja-style escaping of text."""

    def text(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return escape(tokens[idx].content)

    def image(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        """An image is never loaded: a link to it (safe targets only), its description as the text."""
        token = tokens[idx]
        label = escape(self.renderInlineAsText(token.children or [], options, env)) or "画像"
        href = safe_link(str(token.attrGet("src") or ""))
        if href is None:
            return f"［画像：{label}］"
        return f'<a href="{escape(href)}" rel="{LINK_REL}">［画像：{label}］</a>'

    def code_inline(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return f"<code>{escape(tokens[idx].content)}</code>"

    def code_block(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return f"<pre><code>{escape(tokens[idx].content)}</code></pre>\n"

    def fence(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return f"<pre><code>{escape(tokens[idx].content)}</code></pre>\n"


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}, renderer_cls=SafeRenderer)
    md.enable("table")
    # Parse every link target (so that a `javascript:` link keeps its text instead of showing the
    # Markdown source); _filter_links decides which targets stay links.
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    md.core.ruler.push("kb_bare_urls", _bare_urls)
    md.core.ruler.push("kb_filter_links", _filter_links)
    return md


_MD = _parser()

# Text with none of these goes the short way: inline Markdown (escapes, code, emphasis, links,
# images, autolinks, raw HTML, entities), tables, tabs, and what markdown-it rewrites (CR, NUL).
NOT_PLAIN = ("\\", "`", "*", "_", "[", "]", "<", "&", "|", "\t", "\r", "\0", "://")
# A line (or a list item's text) that could open a block other than a paragraph: indented code,
# heading, quote, list, rule, setext underline, fence, table delimiter; or ends in a space (a break).
_BLOCK_START = re.compile(r"[ #>\-*+=_`~:]|\d+[.)]")
LIST_MARK = "- "


def _plain_line(line: str) -> bool:
    return not _BLOCK_START.match(line) and not line.endswith(" ")


def plain_html(text: str) -> str | None:
    """markdown-it's HTML for text made only of paragraphs and `- ` lists; None for anything else.

    Paragraphs are runs of lines between empty lines (trimmed as markdown-it trims them, line
    breaks kept); a run whose every line starts with `- ` holds list items, one a line. Runs of
    items with only empty lines between them make one list, loose (items as paragraphs).
    """
    if any(mark in text for mark in NOT_PLAIN):  # str's own search: faster than a regex here
        return None
    out: list[str] = []
    items: list[str] = []  # the list being read
    runs = 0  # runs of items in it
    for block in _blocks(text):
        if all(line.startswith(LIST_MARK) for line in block):
            new = [mdTrim(line[2:]) for line in block]
            if not all(new) or not all(_plain_line(line[2:]) for line in block):
                return None
            items += new
            runs += 1
            continue
        content = mdTrim("\n".join(block))
        if not content or not all(_plain_line(line) for line in block):
            return None
        out.append(_list_html(items, loose=runs > 1))
        items, runs = [], 0
        out.append(f"<p>{escape(content)}</p>\n")
    out.append(_list_html(items, loose=runs > 1))
    return "".join(out)


def _list_html(items: list[str], loose: bool) -> str:
    if not items:
        return ""
    if loose:
        return "<ul>\n" + "".join(f"<li>\n<p>{escape(item)}</p>\n</li>\n" for item in items) + "</ul>\n"
    return "<ul>\n" + "".join(f"<li>{escape(item)}</li>\n" for item in items) + "</ul>\n"


def _blocks(text: str) -> list[list[str]]:
    """Runs of non-empty lines (markdown-it's empty line is one of spaces and tabs; those are not plain)."""
    blocks: list[list[str]] = [[]]
    for line in text.split("\n"):
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def render_markdown_it(text: str) -> str:
    """The full renderer: markdown-it with the safety rules above (one parser, reused)."""
    return _MD.render(text)


def render_markdown(text: str | None) -> str:
    """Safe HTML for one section's Markdown, wrapped in `<div class="kb-md">` (empty for None)."""
    if not text:
        return ""
    html = plain_html(text)
    return f'<div class="kb-md">{render_markdown_it(text) if html is None else html}</div>'


def render_plain(text: str | None) -> str | None:
    """`render_markdown(text)` when the text is plain (cheap: no parser), else None.

    The build stores the HTML of only the texts that are not plain (tables section_html,
    opinion_html); the proposal page writes the plain ones with this, as fast as reading them.
    """
    if not text:
        return ""
    html = plain_html(text)
    return None if html is None else f'<div class="kb-md">{html}</div>'
