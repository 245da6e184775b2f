# Unified identity authentication server: granian serving idp.wsgi:app on port 8000.
#
#   docker build -t idp .
#   docker run -p 8000:8000 -e IDP_SECRET_KEY=... -e IDP_ISSUER=https://id.example.gov.cn \
#       -e IDP_DATABASE_URL=postgresql://... -v /etc/idp/trust:/app/trust:ro idp
#   docker run --rm -e IDP_SECRET_KEY=... -e IDP_DATABASE_URL=... idp idp db upgrade
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    IDP_MIGRATIONS_DIR=/app/migrations \
    IDP_TRUST_PROFILES_DIR=/app/trust \
    IDP_DATABASE_URL=sqlite:////app/var/idp.db \
    GRANIAN_WORKERS=2

WORKDIR /app

# Dependencies and the package first, so that source-only changes rebuild fewer layers.
COPY pyproject.toml README.md ./
COPY idp ./idp
RUN pip install --no-cache-dir . \
    && rm -rf /app/idp /app/build /app/*.egg-info

# Alembic migrations are read from disk at run time. The image trusts no CA: mount the
# deployment's trust profiles (and the CA certificates they reference) at /app/trust; the demo CAs
# under certs/ are for development only.
COPY migrations ./migrations

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin idp \
    && mkdir -p /app/var /app/trust \
    && chown idp:idp /app/var
USER idp

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
# granian (HTTP in Rust; bench/README.md has the comparison with gunicorn): GRANIAN_WORKERS worker
# processes (one or two per core), 8 threads each running the application, keep-alive connections
# from the portals' back channels. Request headers are limited to 64 KiB (the body limit is the
# application's, 1 MiB); on SIGTERM the requests in progress are finished (at most 30 s). Other
# options through GRANIAN_* variables, e.g. GRANIAN_BLOCKING_THREADS=16.
CMD ["granian", "--interface", "wsgi", "--host", "0.0.0.0", "--port", "8000", "--blocking-threads", "8", \
     "--http1-buffer-size", "65536", "--workers-kill-timeout", "30", "--access-log", "idp.wsgi:app"]
