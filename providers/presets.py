"""OpenAI-compatible hosts, as data: where each is and how it differs. Its key is `<NAME>_API_KEY`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """An OpenAI-compatible host: where it is, and how it differs. Its key is `<NAME>_API_KEY`."""

    base_url: str
    default_model: str | None  # None: the server serves whatever it loaded; GATEWAY_MODEL names it
    needs_key: bool = True
    stream_usage: bool = True  # Mistral rejects `stream_options`


PRESETS = {
    "groq": Preset("https://api.groq.com/openai/v1", "llama-3.3-70b-versatile"),
    "openrouter": Preset("https://openrouter.ai/api/v1", "openai/gpt-4o-mini"),
    "mistral": Preset("https://api.mistral.ai/v1", "mistral-small-latest", stream_usage=False),
    "deepseek": Preset("https://api.deepseek.com/v1", "deepseek-chat"),
    "together": Preset("https://api.together.xyz/v1", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    "xai": Preset("https://api.x.ai/v1", "grok-3-mini"),
    "perplexity": Preset("https://api.perplexity.ai", "sonar"),
    "vllm": Preset("http://127.0.0.1:8000/v1", None, needs_key=False),
    "lmstudio": Preset("http://127.0.0.1:1234/v1", None, needs_key=False),
    "llamacpp": Preset("http://127.0.0.1:8080/v1", "default", needs_key=False),
}
