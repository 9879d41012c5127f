"""The SQLite database: schema, rows, full and incremental builds, written atomically.

`kb.db.schema` is the part the site and the features' build steps import; the rest is the build.
"""
