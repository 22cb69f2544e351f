"""Provider adapters behind one interface, chosen by name from `GATEWAY_PROVIDER`.

Adding a provider is one module with a `create(options)` factory, one line here, and its tests.
"""

from __future__ import annotations

from collections.abc import Callable

from providers import anthropic, echo, openai
from providers.base import Provider, ProviderOptions

ProviderFactory = Callable[[ProviderOptions], Provider]

REGISTRY: dict[str, ProviderFactory] = {
    "echo": echo.create,
    "openai": openai.create,
    "anthropic": anthropic.create,
}
