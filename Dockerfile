# The Deep Chat gateway: a small, non-root image configured only through environment variables.
# Few instructions on purpose: each one is a layer, and some storage drivers copy every layer whole.

# 1. The deep-chat widget bundle for the demo page, from npm.
FROM node:20-slim AS widget
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# 2. The gateway and its dependencies, built into a virtual environment.
FROM python:3.11-slim AS build
# A directory of its own: from `/`, setuptools' package discovery would walk the whole filesystem.
WORKDIR /build
# .dockerignore lets only pyproject.toml, README.md, domain/, gateway/ and providers/ (and the npm files) in.
COPY . .
RUN python -m venv /opt/venv \
 && PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 /opt/venv/bin/pip install --quiet .

# 3. The runtime: the virtual environment, the widget, and nothing else.
FROM python:3.11-slim
COPY --from=build /opt/venv /opt/venv
COPY --from=widget /build/node_modules/deep-chat/dist/deepChat.bundle.js /opt/widget/deepChat.bundle.js
# An unprivileged user; the demo page looks for the bundle beside its own static files.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin gateway \
 && ln -s /opt/widget/deepChat.bundle.js \
      "$(/opt/venv/bin/python -c 'import gateway, pathlib; print(pathlib.Path(gateway.__file__).parent)')/static/deepChat.bundle.js"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000
# /tmp: writable even with a read-only root filesystem (Kubernetes), for the metrics of several workers.
USER gateway
WORKDIR /tmp
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# SIGTERM (Docker's default stop signal) drains in-flight replies for GATEWAY_DRAIN_SECONDS; compose's
# stop_grace_period (GATEWAY_STOP_GRACE_PERIOD) must be longer.
CMD ["deepchat-gateway"]
