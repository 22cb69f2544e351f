"""`python -m gateway` / `deepchat-gateway`: check the configuration, then serve with uvicorn."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from gateway.process.profiles_file import load_profiles
from gateway.process.serve import serve
from gateway.process.settings import Settings
from gateway.profile import build_provider
from providers import REGISTRY
from providers.config import ConfigError, load_settings

EPILOG = """\
Every option can also be set by its environment variable (or a .env file in the working directory):
  GATEWAY_CONFIG         a TOML file of profiles, served at /p/NAME/chat (SIGHUP reloads it)
  GATEWAY_PROVIDER       provider: {providers} (default echo)
  GATEWAY_MODEL          model name sent to the provider (default: the provider's own)
  GATEWAY_SYSTEM_PROMPT  system prompt put before every conversation
  GATEWAY_MAX_TOKENS, GATEWAY_TEMPERATURE   generation limits (anthropic ignores temperature)
  GATEWAY_CORS_ORIGINS   comma-separated origins allowed to call from a browser
  GATEWAY_KEEPALIVE_SECONDS  provider silence before a ": ping" comment (default 15)
  GATEWAY_CONNECT_TIMEOUT, GATEWAY_READ_TIMEOUT  upstream timeouts in seconds (default 10, 120)
  GATEWAY_ECHO_DELAY     seconds between the echo provider's words (default 0.05)
  GATEWAY_TRUSTED_PROXIES  proxies whose X-Forwarded-For is believed (default 127.0.0.1)
  GATEWAY_DRAIN_SECONDS  on SIGTERM, how long in-flight replies may finish (default 30)
  OPENAI_API_KEY, OPENAI_BASE_URL        for --provider openai (or any OpenAI-compatible server)
  ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL  for --provider anthropic
  <NAME>_API_KEY, <NAME>_BASE_URL        for the OpenAI-compatible presets (GROQ_API_KEY, ...)
  GATEWAY_FALLBACK_PROVIDERS, GATEWAY_RETRIES  fallback chain and retries before the first delta
  GATEWAY_REQUESTS_PER_MINUTE, GATEWAY_TOKENS_PER_DAY, REDIS_URL  per-visitor limits (0: off)
  GATEWAY_API_KEYS, GATEWAY_JWT_SECRET   require a bearer token on the chat and /v1 endpoints
  GATEWAY_CONVERSATIONS  remember conversations on the server (GET|DELETE /chat/history)
  GATEWAY_MAX_STREAMS    replies one process streams at once (default 1000; more get 503)
The README lists every variable with its default.
"""

# Command-line flags, as the environment variables they stand for: the worker processes uvicorn starts
# read their settings from the environment, so flags are passed on that way.
FLAGS = {
    "host": "GATEWAY_HOST",
    "port": "GATEWAY_PORT",
    "workers": "GATEWAY_WORKERS",
    "provider": "GATEWAY_PROVIDER",
    "model": "GATEWAY_MODEL",
    "log_level": "GATEWAY_LOG_LEVEL",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="deepchat-gateway",
        description="An LLM gateway for the Deep Chat web component: POST /chat streams the provider's "
        "reply as Server-Sent Events (WS /chat/ws: websocket mode); OpenAI's /v1/chat/completions, "
        "/v1/responses and /v1/audio/transcriptions and Anthropic's /v1/messages serve API clients; "
        "GET / serves a demo page.",
        epilog=EPILOG.format(providers=", ".join(sorted(REGISTRY))),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", help="port to listen on (default 8000)")
    parser.add_argument(
        "--workers",
        help="server processes (default 1); more than one needs REDIS_URL while per-visitor limits or "
        "conversations are on, since each worker would keep its own",
    )
    parser.add_argument("--provider", help="provider adapter (default echo)")
    parser.add_argument("--model", help="model name sent to the provider")
    parser.add_argument("--log-level", help="critical, error, warning, info or debug (default info)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    for option, variable in FLAGS.items():
        value = getattr(args, option)
        if value is not None:
            os.environ[variable] = value
    try:
        settings = load_settings(Settings, ".env")
        # A missing key, a bad provider setting or a bad profiles file stops us here, not at a request.
        for profile_settings in [
            settings,
            *(load_profiles(settings.config).values() if settings.config else ()),
        ]:
            build_provider(profile_settings)
    except ConfigError as exc:
        sys.exit(f"deepchat-gateway: configuration error: {exc}")
    if settings.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Each worker writes its metrics here and /metrics sums them; set before workers start.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gateway-metrics-")
    serve(settings)
