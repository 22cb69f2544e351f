"""Provider adapters behind one interface, chosen by name from `GATEWAY_PROVIDER`.

Adding a provider is one module with a `create(options)` factory, one line here, and its tests. Each
adapter's module (and the SDK it rides on) is imported when its provider is first built, not before: a
gateway on `echo` never pays for the SDKs' import time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

from domain.provider import Provider
from providers.config import ConfigError, ProviderOptions
from providers.presets import PRESETS
from providers.resilient import ResilientProvider, RetryPolicy

ProviderFactory = Callable[[ProviderOptions], Provider]


def _factory(module: str, function: str = "create", *leading: str) -> ProviderFactory:
    def create(options: ProviderOptions) -> Provider:
        adapter = importlib.import_module(f"providers.{module}")
        built: Provider = getattr(adapter, function)(*leading, options)
        return built

    return create


REGISTRY: dict[str, ProviderFactory] = {
    "echo": _factory("echo"),
    "openai": _factory("openai"),
    "anthropic": _factory("anthropic"),
    "gemini": _factory("gemini"),
    "ollama": _factory("ollama"),
    "azure": _factory("azure"),
    # OpenAI-compatible hosts: one line of data each in providers/presets.py.
    **{name: _factory("openai", "create_preset", name) for name in PRESETS},
}


def build_chain(
    entries: Sequence[tuple[str, ProviderOptions]],
    policy: RetryPolicy,
    *,
    breaker_threshold: int,
    breaker_reset: float,
) -> Provider:
    """The first entry's provider, then its fallbacks, behind one retry policy and a breaker each.

    Raises `ConfigError` naming the variable to fix, for an unknown name or an unconfigured provider.
    """
    chain = []
    for index, (name, options) in enumerate(entries):
        if name not in REGISTRY:
            variable = "GATEWAY_FALLBACK_PROVIDERS" if index else "GATEWAY_PROVIDER"
            raise ConfigError(
                variable, f"unknown provider {name!r}; choose one of: {', '.join(sorted(REGISTRY))}"
            )
        chain.append(REGISTRY[name](options))
    return ResilientProvider(chain, policy, breaker_threshold=breaker_threshold, breaker_reset=breaker_reset)
