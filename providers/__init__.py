"""Provider adapters behind one interface, chosen by name from `GATEWAY_PROVIDER`.

Adding a provider is one module with a `create(options)` factory, one line here, and its tests. Each
adapter's module (and the SDK it rides on) is imported when its provider is first built, not before: a
gateway on `echo` never pays for the SDKs' import time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from providers.base import Provider, ProviderOptions
from providers.presets import PRESETS

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
