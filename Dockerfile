# ShareFab API and workers: one image, the command picks the role
# (sharefab serve | sharefab worker ingest | sharefab worker match). See docker-compose.yml.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY domain ./domain
COPY scheduling ./scheduling
COPY matching ./matching
COPY connectors ./connectors
COPY services ./services
COPY simulations ./simulations
COPY cli ./cli
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1 \
    SHAREFAB_DATA_DIR=/var/lib/sharefab
RUN useradd --system --create-home --home-dir /var/lib/sharefab sharefab
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels
USER sharefab
WORKDIR /var/lib/sharefab
EXPOSE 8000
# The API answers /healthz once the schema is migrated and the app has started.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["sharefab", "serve", "--host", "0.0.0.0", "--port", "8000"]
