# syntax=docker/dockerfile:1
# One image for every dataproc workload; only the command differs:
#   API + console (default): gunicorn dataproc_site.wsgi --config gunicorn.conf.py
#   worker, pool mode:       python manage.py run_worker
#   migrate job:             python manage.py migrate --noinput
# (the push-mode worker is the default command too: it serves /pubsub/push).

# --- build: resolve the pinned requirements into a self-contained venv ---------
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
# Every pin ships a manylinux wheel, so no compiler is needed even here;
# --only-binary makes a missing wheel fail the build instead of compiling.
RUN /opt/venv/bin/pip install --no-cache-dir --only-binary=:all: -r /tmp/requirements.txt

# --- runtime: the venv and the code, nothing else -----------------------------
FROM python:3.11-slim-bookworm AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8080

RUN groupadd --system --gid 10001 dataproc \
    && useradd --system --uid 10001 --gid dataproc --home-dir /app --no-create-home --shell /usr/sbin/nologin dataproc

WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY . /app

# Static files are built into the image (whitenoise serves them). Settings
# need a secret key to import; this one exists only during the build.
RUN DJANGO_SECRET_KEY=collectstatic-build-only-not-a-secret \
    python manage.py collectstatic --noinput \
    && python -m compileall -q /app

USER 10001:10001
EXPOSE 8080

# checkov:skip=CKV_DOCKER_2:No HEALTHCHECK: Cloud Run ignores it and probes /health and /ready itself (terraform/modules/dataproc/cloudrun.tf); the worker-pool and migrate containers of this same image serve no HTTP, so a HEALTHCHECK would mark them unhealthy under Docker.

# gunicorn binds 0.0.0.0:$PORT (gunicorn.conf.py); Cloud Run sets PORT.
CMD ["gunicorn", "dataproc_site.wsgi", "--config", "gunicorn.conf.py"]
