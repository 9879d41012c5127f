# The site as a container (docs/deploy.md): the database is built into the image from proposals/,
# and served read-only (immutable) by the command line of kb/serve.py's datasette_command — the
# same command tests/test_deploy.py starts without Docker. One process per container: scale with
# several containers of this image behind a load balancer or a CDN.
#
#   docker build -t bunken-kb .
#   docker run --rm -p 8001:8001 bunken-kb
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Code and site first (editable install: the plugins, templates and static files are read from /app/site).
COPY pyproject.toml README.md ./
COPY kb ./kb
COPY site ./site
COPY data ./data
RUN pip install -e .

# The data: checked and built at image build time (a file with problems fails the build).
COPY proposals ./proposals
RUN kb build --db /app/kb.db proposals && rm -rf /root/.cache

USER nobody
EXPOSE 8001
# --public: arbitrary SQL off for a site on the internet (docs/site.md). Drop it for an intranet.
CMD ["python", "-m", "kb.serve", "--db", "/app/kb.db", "--host", "0.0.0.0", "--port", "8001", "--public"]
