# One image for every procserv process: the API, the workers, beat, Flower and
# the one-shot migration; docker-compose.yml picks the command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/var/lib/procserv

# Pango, HarfBuzz and fonts are what WeasyPrint needs to draw PDF reports.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
        fonts-dejavu-core fonts-liberation2 \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --create-home --uid 10001 procserv \
    && install -d -o procserv -g procserv "$VAR_DIR"

# Installed, not run from the sources: the image holds one copy of the code.
COPY pyproject.toml README.md /tmp/procserv/
COPY app /tmp/procserv/app
COPY workers /tmp/procserv/workers
COPY processes /tmp/procserv/processes
RUN pip install /tmp/procserv && rm -rf /tmp/procserv

USER procserv
WORKDIR /var/lib/procserv
EXPOSE 8000 5555
CMD ["procserv", "web", "--host", "0.0.0.0", "--port", "8000"]
