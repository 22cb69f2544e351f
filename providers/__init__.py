"""Provider adapters behind one interface, chosen by name from `GATEWAY_PROVIDER`.

Adding a provider is one module with a `create(options)` factory, one line here, and its tests.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from providers import anthropic, azure, echo, gemini, ollama, openai
from providers.base import Provider, ProviderOptions

ProviderFactory = Callable[[ProviderOptions], Provider]

REGISTRY: dict[str, ProviderFactory] = {
    "echo": echo.create,
    "openai": openai.create,
    "anthropic": anthropic.create,
    "gemini": gemini.create,
    "ollama": ollama.create,
    "azure": azure.create,
    # OpenAI-compatible hosts: one line of data each in providers/openai.py's PRESETS.
    **{name: partial(openai.create_preset, name) for name in openai.PRESETS},
}
