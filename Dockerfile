# syntax=docker/dockerfile:1
#
# Ops Portal image: one image for every process type in the Procfile (web, ws, worker, beat,
# release). docker-compose.yml and deploy/ pick the process with `command:`; the default CMD is
# the Procfile `web` line.
#
#   docker build -t ops-portal .
#   docker run -e DJANGO_ENV=production -e SECRET_KEY=... -e ALLOWED_HOSTS=... \
#       -e DATABASE_URL=postgres://... -e REDIS_URL=redis://... -p 8000:8000 ops-portal
#
# The build context is the repository root. Everything is copied into the builder stage and the
# local-only state (.venv, var/ with its development secret_key and SQLite file, .git, caches,
# tests) is deleted there, so none of it can reach the runtime image even without a
# .dockerignore (one still makes the build context smaller and faster to send).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: a virtualenv holding the project and its dependencies ----------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv \
    && pip install --upgrade pip

WORKDIR /app

# Dependencies first, read from pyproject.toml's [project].dependencies, so this layer is reused
# until pyproject.toml changes. All of them ship manylinux wheels (amd64, arm64): no compiler.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the project itself. Editable, because settings resolve BASE_DIR (templates/, static/,
# manage.py) from the source tree: the code runs from /app, and the runtime stage keeps the same
# /app and /opt/venv paths so the install stays valid there.
COPY . .
RUN rm -rf .venv var staticfiles .git .ci .hypothesis .pytest_cache .ruff_cache \
        .import_linter_cache tests bench test-results build ./*.egg-info \
    && find . -name '__pycache__' -type d -prune -exec rm -rf {} + \
    && pip install -e . \
    && python -m compileall -q /app

# --- runtime -----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# VAR_DIR holds the only writable state (Celery beat's schedule file): mount a volume there
# for beat. PYTHONPATH=/app makes every app under /app importable by every process (celery
# imports the project from the working directory only while it loads the app module).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=ops_portal.settings \
    VAR_DIR=/var/lib/ops-portal

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin app \
    && mkdir -p /var/lib/ops-portal \
    && chown app:app /var/lib/ops-portal

# Code and virtualenv stay owned by root: the app user can read but not modify them.
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
WORKDIR /app

# Collect static files with the production settings: production serves them through
# CompressedManifestStaticFilesStorage, which needs the hashed names and staticfiles.json that
# only a production-mode collectstatic writes (a development-mode run leaves no manifest and
# every {% static %} would then fail). The SECRET_KEY/ALLOWED_HOSTS below exist only for this
# RUN: they are not ENV, so containers never see them (the throwaway key shows in `docker
# history`, which is why it is a placeholder and not a secret).
# Settings never open a database or Redis connection on import, so nothing else is needed.
RUN DJANGO_ENV=production \
    SECRET_KEY=collectstatic-build-only-not-a-real-secret \
    ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput \
    && test -f /app/staticfiles/staticfiles.json

USER app:app

EXPOSE 8000 8001

# GET /health on the web port. Host header: the first ALLOWED_HOSTS entry (".example.com" →
# "example.com", "*" → "localhost"), so the probe passes Django's host validation whatever the
# deployment allows. HTTP errors (503 when the database is down) and refused connections exit 1.
# Other process types (ws, worker, beat) override or disable this in docker-compose.yml.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; host = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.*') or 'localhost'; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/health', headers={'Host': host}), timeout=4)"]

# The Procfile `web` line, verbatim; `sh -c` expands ${PORT:-8000} etc. from the container
# environment (platforms that inject PORT work), and `exec` makes gunicorn PID 1 so it receives
# SIGTERM directly and shuts down gracefully.
CMD ["sh", "-c", "exec gunicorn ops_portal.wsgi:application --bind 0.0.0.0:${PORT:-8000} --workers ${WEB_CONCURRENCY:-2} --worker-class gthread --threads ${WEB_THREADS:-4} --timeout 30 --graceful-timeout 25 --keep-alive 5 --max-requests 100000 --max-requests-jitter 10000 --preload --access-logfile -"]
