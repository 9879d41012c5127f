"""`kb_render_sync(name)`: a template rendered without asyncio's per-piece cost, for the long parts of pages.

Datasette renders every template with an async Jinja environment: each piece of output (a text run,
a `{{ }}`) resumes a chain of async generators, one per template in the `extends` chain, and every
call goes through `auto_await`. A page body of ~800 pieces spent most of its rendering time there. The
bodies of the proposal page and the search page need nothing asynchronous (their data is loaded before
rendering by extra_template_vars), so they are rendered by a synchronous overlay of the same
environment: the same loader, filters, globals and autoescape, the same output, byte for byte
(tests/test_site_sync_templates.py).
"""

from weakref import WeakKeyDictionary

from datasette import hookimpl
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

_SYNC: "WeakKeyDictionary[Environment, Environment]" = WeakKeyDictionary()


def sync_environment(env: Environment) -> Environment:
    """The synchronous overlay of `env` (made once: it shares env's filters and globals, keeps its own cache)."""
    sync = _SYNC.get(env)
    if sync is None:
        sync = _SYNC[env] = env.overlay(enable_async=False)
    return sync


@pass_context
def render_sync(context: Context, name: str) -> Markup:
    """`name` rendered with every variable of the calling template's context, synchronously."""
    template = sync_environment(context.environment).get_template(name)
    return Markup(template.render(context.get_all()))


@hookimpl
def prepare_jinja2_environment(env: Environment) -> None:
    env.globals["kb_render_sync"] = render_sync
