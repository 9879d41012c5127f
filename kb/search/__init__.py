"""Japanese full-text search: one normalisation, a bigram FTS5 index, ranked queries and snippets."""

from kb.search.query import SearchPage, ranked_search, register_functions
from kb.search.textnorm import fts_query, index_text, normalize

__all__ = ["SearchPage", "fts_query", "index_text", "normalize", "ranked_search", "register_functions"]
