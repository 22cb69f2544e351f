"""The Kubernetes manifests, checked offline: Kubernetes' own schemas, and what a streaming gateway needs.

No cluster can be had here; `kubernetes-validate` bundles the schemas of the built-in resources. The
Gateway API's HTTPRoute is a custom resource, so its shape is checked here by hand.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from gateway.process.settings import Settings
from tests.deploy.nginx import CONFIG
from tests.gateway_process import ROOT

MANIFESTS = ROOT / "deploy" / "kubernetes"
KUBERNETES = "1.33.0"
README = (ROOT / "README.md").read_text()


def documents() -> list[tuple[Path, dict[str, Any]]]:
    return [
        (path, document)
        for path in sorted(MANIFESTS.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


def resource(kind: str, name: str | None = None) -> dict[str, Any]:
    return next(
        document
        for _, document in documents()
        if document["kind"] == kind and (name is None or document["metadata"]["name"] == name)
    )


def test_kustomization_lists_every_manifest_but_the_ingress_alternative() -> None:
    listed = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())["resources"]
    present = {path.name for path in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(listed) == present - {"ingress-nginx.yaml"}


@pytest.mark.parametrize(
    ("path", "document"),
    [item for item in documents() if not item[1]["apiVersion"].startswith("gateway.networking.k8s.io")],
    ids=lambda value: value.name if isinstance(value, Path) else value.get("kind", ""),
)
def test_each_built_in_resource_is_valid_against_kubernetes_schemas(
    path: Path, document: dict[str, Any]
) -> None:
    kubernetes_validate.validate(document, KUBERNETES, strict=True)


def test_the_http_route_sends_everything_to_the_service_without_a_request_timeout() -> None:
    route = resource("HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"][0]["name"]
    (rule,) = route["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert rule["timeouts"]["request"] == "0s"
    service = resource("Service", "deepchat-gateway")
    assert rule["backendRefs"] == [{"name": "deepchat-gateway", "port": service["spec"]["ports"][0]["port"]}]


def test_the_deployment_probes_drains_and_runs_unprivileged() -> None:
    spec = resource("Deployment", "deepchat-gateway")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    drain = int(resource("ConfigMap")["data"]["GATEWAY_DRAIN_SECONDS"])
    assert spec["terminationGracePeriodSeconds"] > drain
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    assert {"secretRef": {"name": "deepchat-gateway-keys"}} in container["envFrom"]


def test_the_ingress_alternative_streams_like_the_nginx_config() -> None:
    annotations = resource("Ingress")["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert annotations[prefix + "proxy-buffering"] == "off"
    assert int(annotations[prefix + "proxy-read-timeout"]) >= 300
    body = re.search(r"client_max_body_size (\d+m);", CONFIG.read_text())
    assert body is not None and annotations[prefix + "proxy-body-size"] == body[1]


def test_the_settings_are_the_readmes_variables() -> None:
    variables = set(resource("ConfigMap")["data"])
    spec = resource("Deployment", "deepchat-gateway")["spec"]["template"]["spec"]
    variables |= {entry["name"] for entry in spec["containers"][0]["env"]}
    for variable in variables:
        assert f"`{variable}`" in README, f"{variable} is not documented in the README"
        field = variable.removeprefix("GATEWAY_").lower()
        assert field in Settings.model_fields or variable == "REDIS_URL", variable
