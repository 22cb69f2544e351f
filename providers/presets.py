"""OpenAI-compatible hosts, as data: where each is and how it differs. Its key is `<NAME>_API_KEY`.

`refuses` and `passthrough` follow each host's own API reference (read 2026-11): a neutral option it rejects
or ignores silently is refused by the gateway (a 400 naming it) rather than sent to be dropped; `passthrough`
names the OpenAI-only fields it documents, which are sent as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

_NO_SAMPLING_IDS = frozenset({"seed", "user"})


@dataclass(frozen=True)
class Preset:
    """An OpenAI-compatible host: where it is, and how it differs. Its key is `<NAME>_API_KEY`."""

    base_url: str
    default_model: str | None  # None: the server serves whatever it loaded; GATEWAY_MODEL names it
    needs_key: bool = True
    stream_usage: bool = True  # Mistral rejects `stream_options`
    refuses: frozenset[str] = frozenset()  # neutral options (providers/openai.py OPTIONS) it does not honour
    passthrough: frozenset[str] = frozenset()  # OpenAI-only fields it takes


PRESETS = {
    # Groq documents frequency/presence penalties as "not yet supported by any of our models" (accepted,
    # ignored); logit_bias, logprobs and n > 1 it rejects.
    "groq": Preset(
        "https://api.groq.com/openai/v1",
        "llama-3.3-70b-versatile",
        refuses=frozenset({"presence_penalty", "frequency_penalty"}),
        passthrough=frozenset({"reasoning_effort", "service_tier", "max_completion_tokens"}),
    ),
    # OpenRouter forwards the OpenAI fields to whichever host serves the model.
    "openrouter": Preset(
        "https://openrouter.ai/api/v1", "openai/gpt-4o-mini", passthrough=frozenset({"logit_bias"})
    ),
    # Mistral rejects unknown fields (422): its seed is `random_seed`, it takes no `user`.
    "mistral": Preset(
        "https://api.mistral.ai/v1", "mistral-small-latest", stream_usage=False, refuses=_NO_SAMPLING_IDS
    ),
    # DeepSeek documents no seed, user or parallel_tool_calls (and json_object only, which it answers
    # json_schema with its own 400).
    "deepseek": Preset(
        "https://api.deepseek.com/v1", "deepseek-chat", refuses=_NO_SAMPLING_IDS | {"parallel_tool_calls"}
    ),
    "together": Preset(
        "https://api.together.xyz/v1",
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        refuses=frozenset({"user", "parallel_tool_calls"}),
        passthrough=frozenset({"logit_bias"}),
    ),
    "xai": Preset("https://api.x.ai/v1", "grok-3-mini", passthrough=frozenset({"reasoning_effort"})),
    # Perplexity's Sonar models call no tools and take no stop, seed or user.
    "perplexity": Preset(
        "https://api.perplexity.ai",
        "sonar",
        refuses=_NO_SAMPLING_IDS | {"stop", "tools", "tool_choice", "parallel_tool_calls"},
        passthrough=frozenset({"web_search_options"}),
    ),
    # Local servers: tools need the server started with them (vLLM `--enable-auto-tool-choice`, llama.cpp
    # `--jinja`), else it answers 400 itself; none of them uses `user`.
    "vllm": Preset(
        "http://127.0.0.1:8000/v1",
        None,
        needs_key=False,
        refuses=frozenset({"user"}),
        passthrough=frozenset({"logit_bias"}),
    ),
    "lmstudio": Preset(
        "http://127.0.0.1:1234/v1",
        None,
        needs_key=False,
        refuses=frozenset({"user", "parallel_tool_calls"}),
        passthrough=frozenset({"logit_bias"}),
    ),
    "llamacpp": Preset(
        "http://127.0.0.1:8080/v1",
        "default",
        needs_key=False,
        refuses=frozenset({"user"}),
        passthrough=frozenset({"logit_bias"}),
    ),
}
