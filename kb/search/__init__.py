"""Japanese full-text search: one normalisation, a bigram FTS5 index, ranked queries and snippets."""
