# copydesk application image: one image, the role is chosen by the command
# (worker | beat | flower | db upgrade | enqueue ...). See docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    COPYDESK_DATA_DIR=/data

# Unprivileged runtime user; /data is created here so a fresh named volume
# mounted on it inherits the copydesk ownership.
RUN groupadd --system --gid 10001 copydesk \
    && useradd --system --uid 10001 --gid copydesk --home-dir /home/copydesk --create-home copydesk \
    && mkdir -p /data \
    && chown copydesk:copydesk /data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY worker/ worker/
COPY ingest/ ingest/
COPY storage/ storage/
RUN pip install --no-cache-dir . \
    && rm -rf /src/build /src/*.egg-info

# Run from the data directory, not the source tree, so the installed package
# (not /src) is what gets imported.
WORKDIR /data
USER copydesk

ENTRYPOINT ["copydesk"]
CMD ["worker"]
