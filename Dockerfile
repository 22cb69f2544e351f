# The Deep Chat gateway: a small, non-root image configured only through environment variables.

# 1. The deep-chat widget bundle for the demo page, from npm.
FROM node:20-slim AS widget
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# 2. The gateway and its dependencies, built into a virtual environment.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
# A directory of its own: from `/`, setuptools' package discovery would walk the whole filesystem.
WORKDIR /build
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY providers ./providers
RUN /opt/venv/bin/pip install .

# 3. The runtime: the virtual environment, the widget, and nothing else.
FROM python:3.11-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin gateway
COPY --from=build /opt/venv /opt/venv
COPY --from=widget /build/node_modules/deep-chat/dist/deepChat.bundle.js /opt/widget/deepChat.bundle.js
# The demo page looks for the bundle beside its own static files.
RUN ln -s /opt/widget/deepChat.bundle.js \
      "$(/opt/venv/bin/python -c 'import gateway, pathlib; print(pathlib.Path(gateway.__file__).parent)')/static/deepChat.bundle.js"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000
USER gateway
WORKDIR /tmp
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# SIGTERM drains in-flight replies for GATEWAY_DRAIN_SECONDS (see docker-compose.yml's stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["deepchat-gateway"]
