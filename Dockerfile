# Threadline: one instance. See docs/deploy.md for a compose file with two instances, PostgreSQL,
# Redis and a reverse proxy.
#   docker build -t threadline .
#   docker run -p 8787:8787 -e THREADLINE_PASSWORD=... -v threadline:/data threadline

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    THREADLINE_HOME=/data \
    THREADLINE_HOST=0.0.0.0 \
    THREADLINE_PORT=8787 \
    THREADLINE_DETECT_OLLAMA=false
# git and a few everyday tools for the agent's shell; the workspace lives on a volume.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 threadline \
    && mkdir -p /data /workspaces \
    && chown threadline:threadline /data /workspaces
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels
USER threadline
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8787
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('THREADLINE_PORT', '8787')}/health\", timeout=2)"]
# tini forwards SIGTERM, so running turns are interrupted cleanly before the container stops.
ENTRYPOINT ["tini", "--"]
CMD ["threadline", "serve"]
