"""What can be checked of the Dockerfile and docker-compose.yml without a Docker engine."""

from __future__ import annotations

import re
from typing import Any

import yaml

from gateway.process.settings import Settings
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


def test_every_setting_reaches_the_gateway_from_the_env_file_and_no_secret_is_baked_in() -> None:
    gateway = compose()["services"]["gateway"]
    assert gateway["env_file"] == ["${GATEWAY_ENV_FILE:-.env}"]  # the whole file, not a fixed list
    assert not any("KEY" in variable or "SECRET" in variable for variable in gateway["environment"])
    assert not re.search(r"(?im)^\s*ENV\s+.*(KEY|SECRET|TOKEN)", DOCKERFILE)
    assert not re.search(
        r"(?i)(api_key|secret)",
        "\n".join(line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#")),
    )


def test_only_the_stacks_private_network_is_a_trusted_proxy_and_no_subnet_is_fixed() -> None:
    services = compose()["services"]
    trusted = services["gateway"]["environment"]["GATEWAY_TRUSTED_PROXIES"]
    assert trusted == "${GATEWAY_TRUSTED_PROXIES:-10.0.0.0/8,172.16.0.0/12,192.168.0.0/16}"
    assert "ports" not in services["gateway"]  # nothing but the stack reaches it, so that trust holds
    assert compose()["networks"]["internal"] == {}  # a fixed subnet clashed with a second stack
    assert "ipv4_address" not in str(services["nginx"])


def test_graceful_stop_outlasts_the_drain_time() -> None:
    gateway = compose()["services"]["gateway"]
    grace = re.fullmatch(r"\$\{GATEWAY_STOP_GRACE_PERIOD:-(\d+)s\}", gateway["stop_grace_period"])
    assert grace is not None
    assert int(grace[1]) > Settings().drain_seconds


def test_new_replicas_are_found_without_restarting_nginx() -> None:
    assert "resolver 127.0.0.11 valid=5s" in NGINX  # Docker's DNS, asked again every 5 s
    assert re.search(r"server gateway:8000 [^;]*resolve;", NGINX)
    assert "zone gateway" in NGINX


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


def test_the_build_context_holds_only_what_the_image_needs() -> None:
    # Without it the legacy builder sends .venv, node_modules and .git to the engine on every build.
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignore = [line for line in lines if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*"
    allowed = {line.removeprefix("!") for line in ignore if line.startswith("!")}
    sources = {"domain", "gateway", "providers"}
    needed = {"pyproject.toml", "README.md", "package.json", "package-lock.json", *sources}
    assert allowed == needed
    assert "COPY . ." in DOCKERFILE and "WORKDIR /build" in DOCKERFILE
