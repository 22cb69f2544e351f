"""What can be checked of the Dockerfile and docker-compose.yml without a Docker engine."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.deploy.nginx import CONFIG
from tests.gateway_process import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
NGINX = CONFIG.read_text()


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_runs_gateway_nginx_and_redis_with_healthchecks_and_restarts() -> None:
    services = compose()["services"]
    assert set(services) == {"gateway", "nginx", "redis"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
        assert service["restart"] == "unless-stopped", name
    assert "/healthz" in " ".join(services["nginx"]["healthcheck"]["test"])
    assert services["nginx"]["depends_on"]["gateway"]["condition"] == "service_healthy"


def test_gateway_can_be_scaled_behind_nginx() -> None:
    services = compose()["services"]
    assert "ports" not in services["gateway"]  # a fixed host port would stop --scale gateway=3
    assert services["gateway"]["expose"] == ["8000"]
    assert "server gateway:8000" in NGINX  # the service name resolves to every replica
    assert "./config/nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]


def test_secrets_come_from_the_environment_never_from_files() -> None:
    environment = compose()["services"]["gateway"]["environment"]
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        assert environment[variable] == "${" + variable + ":-}"
    assert not re.search(r"(?im)^\s*ENV\s+.*(KEY|SECRET|TOKEN)", DOCKERFILE)
    assert not re.search(
        r"(?i)(api_key|secret)",
        "\n".join(line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#")),
    )


def test_only_nginx_is_a_trusted_proxy() -> None:
    services = compose()["services"]
    nginx_address = services["nginx"]["networks"]["internal"]["ipv4_address"]
    assert services["gateway"]["environment"]["GATEWAY_TRUSTED_PROXIES"] == nginx_address


def test_graceful_stop_outlasts_the_drain_time() -> None:
    gateway = compose()["services"]["gateway"]
    drain = int(re.search(r"\d+", gateway["environment"]["GATEWAY_DRAIN_SECONDS"])[0])  # type: ignore[index]
    assert int(gateway["stop_grace_period"].rstrip("s")) > drain


def test_dockerfile_is_multi_stage_non_root_and_health_checked() -> None:
    assert len(re.findall(r"(?m)^FROM ", DOCKERFILE)) >= 2
    user = re.findall(r"(?m)^USER (\S+)", DOCKERFILE)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"(?m)^HEALTHCHECK .*\n?.*/healthz", DOCKERFILE)
    assert re.search(r"(?m)^EXPOSE 8000$", DOCKERFILE)
    assert "GATEWAY_PORT=8000" in DOCKERFILE and "GATEWAY_HOST=0.0.0.0" in DOCKERFILE
    assert "deepChat.bundle.js" in DOCKERFILE  # the demo page works offline in the container


def test_nginx_config_is_fit_for_streaming() -> None:
    for directive in (
        "proxy_buffering off;",
        "proxy_http_version 1.1;",
        "gzip off;",
        "keepalive 64;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
    ):
        assert directive in NGINX, directive
    body_limit = re.search(r"client_max_body_size (\d+)m;", NGINX)
    assert body_limit is not None and 25 <= int(body_limit[1]) <= 32  # 5 files of 5 MiB, and no more
