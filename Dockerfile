# customer360 image: the pipeline and its CLI (c360), the agent console, Airflow 3 (extra `airflow`).
# One image for every service of docker-compose.yml; see docs/airflow.md.
#
#   docker build -t customer360:local .
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PATH=/opt/venv/bin:$PATH \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/app/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    SCARF_NO_ANALYTICS=true \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    C360_CONFIG=/app/examples/kaufhaus-nord/customer360.yml \
    C360_DATA_DIR=/data \
    C360_SILOS_DIR=/data/silos

# uv, pinned to the release that wrote uv.lock's format
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /uvx /usr/local/bin/

# the same user id as the official Airflow image, so volumes behave the same
RUN groupadd --gid 50000 c360 \
    && useradd --uid 50000 --gid c360 --create-home --shell /bin/bash c360 \
    && mkdir -p /app /opt/venv /opt/airflow /data \
    && chown -R c360:c360 /app /opt/venv /opt/airflow /data

WORKDIR /app
USER c360

# dependencies first (cached while only the code changes), exactly as locked; no test tools in the image, but the
# devtools workspace member: the compose stack is the demo (it generates the demo silos and serves the helpdesk)
COPY --chown=c360:c360 pyproject.toml uv.lock README.md ./
COPY --chown=c360:c360 devtools/pyproject.toml devtools/
RUN uv sync --frozen --all-extras --no-dev --all-packages --no-install-workspace

COPY --chown=c360:c360 . .
RUN uv sync --frozen --all-extras --no-dev --all-packages

VOLUME ["/data"]
EXPOSE 8000 8080
CMD ["c360", "--help"]
