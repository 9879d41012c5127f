"""The SQLite database: schema, rows, full and incremental builds, written atomically.

`kb.db.schema` is the part the site and the features' build steps import. This package
exports nothing itself: loading it must stay cheap for them, and the build's verb is
`kb.db.build.build` (with the project's steps and checks: `kb.pipeline.build`).
"""

__all__: list[str] = []
