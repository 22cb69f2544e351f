"""The registry and the chain builder the gateway calls: names, lazy SDK imports, configuration errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from providers import REGISTRY, build_chain
from providers.base import ConfigError, ProviderOptions
from providers.presets import PRESETS
from providers.resilient import ResilientProvider, RetryPolicy
from tests import aio

OPTIONS = ProviderOptions(model=None, env_file=None)


def test_every_provider_and_preset_has_a_factory() -> None:
    assert {"echo", "openai", "anthropic", "gemini", "ollama", "azure", *PRESETS} == set(REGISTRY)


def test_importing_providers_imports_no_sdk() -> None:
    sdks = "{'openai', 'anthropic', 'httpx2', 'aiohttp'}"
    code = f"import sys, providers; print(sorted({sdks} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_chain_is_its_primary_then_its_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-registry-test-0123456789")
    chain = build_chain(
        [("openai", OPTIONS), ("ollama", OPTIONS), ("echo", OPTIONS)],
        RetryPolicy(),
        breaker_threshold=3,
        breaker_reset=1.0,
    )
    assert isinstance(chain, ResilientProvider)
    assert (chain.name, [provider.name for provider in chain.chain]) == (
        "openai",
        ["openai", "ollama", "echo"],
    )
    aio.run(chain.aclose())


@pytest.mark.parametrize(
    ("entries", "variable"),
    [
        ([("nope", OPTIONS)], "GATEWAY_PROVIDER"),
        ([("echo", OPTIONS), ("nope", OPTIONS)], "GATEWAY_FALLBACK_PROVIDERS"),
        ([("echo", OPTIONS), ("anthropic", OPTIONS)], "ANTHROPIC_API_KEY"),
        (
            [("groq", ProviderOptions(model=None, env_file=None, api_key_env="SUPPORT_GROQ_KEY"))],
            "SUPPORT_GROQ_KEY",
        ),
    ],
)
def test_a_chain_that_cannot_be_built_names_the_variable(
    entries: list[tuple[str, ProviderOptions]], variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ANTHROPIC_API_KEY", "GROQ_API_KEY", "SUPPORT_GROQ_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as caught:
        build_chain(entries, RetryPolicy(), breaker_threshold=3, breaker_reset=1.0)
    assert caught.value.variable == variable
