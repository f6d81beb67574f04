# One image for every service; the command picks it: dashboard | sidecar | api | migrate.
# Build:  docker build -t grove-jobs .
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir uv
WORKDIR /app
# Dependencies first (cached until uv.lock changes), then the project itself.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY grove_jobs ./grove_jobs
COPY scheduler ./scheduler
COPY dashboard ./dashboard
COPY migrations ./migrations
COPY .streamlit ./.streamlit
COPY docker/entrypoint.sh ./docker/entrypoint.sh
RUN uv sync --frozen --no-dev --no-editable

FROM python:3.11-slim
# No compilers or uv in the final image: only the virtualenv and the sources it runs.
RUN useradd --create-home --uid 10001 grove
WORKDIR /app
COPY --from=build --chown=grove:grove /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GROVE_DATA_DIR=/data \
    GROVE_API_HOST=0.0.0.0 \
    GROVE_ANONYMOUS_ROLE=viewer
RUN mkdir -p /data && chown grove:grove /data
USER grove
VOLUME ["/data"]
EXPOSE 8501 8765
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["sidecar"]
