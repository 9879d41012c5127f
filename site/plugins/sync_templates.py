"""`kb_render_sync(name)`: a template rendered without asyncio's per-piece cost, for the long parts of pages.

Datasette renders every template with an async Jinja environment: each piece of output (a text run,
a `{{ }}`) resumes a chain of async generators, one per template in the `extends` chain, and every
call goes through `auto_await`: the bodies of the proposal page (~370 pieces), the search page (~770) and a
table page (~2,400 for the proposals list) spent a tenth to a sixth of their pages' time there
(docs/benchmarks.md, #16). They need nothing asynchronous (the views and extra_template_vars load their data
before rendering), so they are rendered by a synchronous overlay of the same environment: the same
loader, filters, globals and autoescape, the same output, byte for byte (tests/test_site_sync_templates.py).

Two rules for a body template, since it sees the caller's context (`Context.get_all()`), not its locals:
a `{% set %}` inside the calling block, or a loop variable around the call, does not reach it (set it in
the body, or at the calling template's top level); and nothing it calls may be asynchronous (Datasette's
`menu_links` and `crumb_items`, our `kb_crumb_items`): a coroutine would be written as its repr.
"""

from datasette import hookimpl
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

_OVERLAY = "_kb_sync_overlay"  # the attribute of Datasette's environment that holds its overlay


def sync_environment(env: Environment) -> Environment:
    """The synchronous overlay of `env`, made once: it shares env's filters and globals and keeps its own cache.

    Held by `env` itself (an overlay refers back to its environment, so a weak mapping would keep both)."""
    sync: Environment | None = getattr(env, _OVERLAY, None)
    if sync is None:
        sync = env.overlay(enable_async=False)
        setattr(env, _OVERLAY, sync)
    return sync


@pass_context
def render_sync(context: Context, name: str) -> Markup:
    """`name` rendered with every variable of the calling template's context, synchronously."""
    template = sync_environment(context.environment).get_template(name)
    return Markup(template.render(context.get_all()))


@hookimpl
def prepare_jinja2_environment(env: Environment) -> None:
    env.globals["kb_render_sync"] = render_sync
