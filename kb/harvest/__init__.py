"""`kb harvest`: the official site's pages and sheets into proposal files (docs/harvest.md).

links (page → classified links) ← crawl (index → year → stage pages) ← run (download, import, summary);
fetch is the polite HTTP client over cache (the on-disk conditional-GET cache).
"""
