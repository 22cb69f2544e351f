"""What a page may ask for: request sizes, and the overrides the operator allows.

Props from the page are untrusted. `model` and `temperature` are honoured only within what the operator
allows (and refused with 422 otherwise, so the page's author learns why); `max_tokens` is capped; a
`system` prop or role is used only with GATEWAY_ALLOW_CLIENT_SYSTEM=true; every other prop is ignored and
never reaches the provider.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.deepchat import DeepChatBody
from gateway.errors import ClientError


@dataclass(frozen=True, slots=True)
class Policy:
    max_messages: int
    max_message_chars: int
    max_total_chars: int
    allowed_models: tuple[str, ...]
    max_client_temperature: float | None
    max_tokens: int | None
    allow_client_system: bool


@dataclass(frozen=True, slots=True)
class Overrides:
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    system: str | None = None  # the page's own system text, when allowed


def check_sizes(message_chars: list[int], policy: Policy) -> None:
    """Refuse a conversation over the limits; `message_chars` is each message's length in characters."""
    if len(message_chars) > policy.max_messages:
        count = len(message_chars)
        raise ClientError(413, f"Too many messages: {count}; the limit is {policy.max_messages}.")
    for index, chars in enumerate(message_chars):
        if chars > policy.max_message_chars:
            limit = policy.max_message_chars
            raise ClientError(413, f"messages.{index} has {chars} characters; the limit is {limit}.")
    total = sum(message_chars)
    if total > policy.max_total_chars:
        limit = policy.max_total_chars
        raise ClientError(413, f"The conversation has {total} characters; the limit is {limit}.")


def overrides(body: DeepChatBody, policy: Policy) -> Overrides:
    props = body.model_extra or {}
    return Overrides(
        model=_model(props.get("model"), policy),
        temperature=_temperature(props.get("temperature"), policy),
        max_tokens=_max_tokens(props.get("max_tokens"), policy),
        system=_system(body, props.get("system"), policy),
    )


def _model(value: object, policy: Policy) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value in policy.allowed_models:
        return value
    if not policy.allowed_models:
        raise ClientError(422, "This gateway does not let the page choose the model; remove the model prop.")
    raise ClientError(
        422,
        f"The model {str(value)[:80]!r} is not allowed; choose one of: {', '.join(policy.allowed_models)}.",
    )


def _temperature(value: object, policy: Policy) -> float | None:
    if value is None:
        return None
    if policy.max_client_temperature is None:
        raise ClientError(422, "This gateway does not let the page set the temperature; remove the prop.")
    try:
        temperature = float(str(value))  # multipart props arrive as strings
    except (TypeError, ValueError):
        raise ClientError(422, "temperature must be a number.") from None
    if not 0 <= temperature <= policy.max_client_temperature:
        raise ClientError(422, f"temperature must be between 0 and {policy.max_client_temperature}.")
    return temperature


def _max_tokens(value: object, policy: Policy) -> int | None:
    if value is None or policy.max_tokens is None:
        return policy.max_tokens  # without an operator cap the page cannot raise the reply length
    try:
        requested = int(str(value))
    except (TypeError, ValueError):
        raise ClientError(422, "max_tokens must be a whole number.") from None
    if requested < 1:
        raise ClientError(422, "max_tokens must be at least 1.")
    return min(requested, policy.max_tokens)


def _system(body: DeepChatBody, prop: object, policy: Policy) -> str | None:
    if not policy.allow_client_system:
        return None
    texts = [message.text for message in body.messages if message.role == "system" and message.text]
    if isinstance(prop, str) and prop.strip():
        texts.insert(0, prop)
    return "\n\n".join(texts) or None
