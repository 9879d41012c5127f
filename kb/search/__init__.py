"""Japanese full-text search: one normalisation (`textnorm`), a bigram FTS5 index (`index`), ranked
queries and snippets (`query`, `snippets`).

Import the module you need: the build uses `textnorm` and `index` only, and must not pay for the
site's query code (kb.search.query) on every `kb` command.
"""
