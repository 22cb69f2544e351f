"""What a caller may ask for, judged the same way on every front door.

Everything a page or an OpenAI client sends is untrusted. The policy bounds the conversation (messages,
characters, attachments) before any attachment is decoded, honours `model` and `temperature` only within
what the operator allows (refused otherwise, so the caller learns why), caps `max_tokens`, uses a
caller's system text only when allowed, and turns the input into the provider request.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

from domain.messages import Message, Part, TextPart, ToolResultPart
from domain.request import ChatRequest, requested_options
from gateway.errors import bad_request
from gateway.policy.attachments import UploadLimits, is_recording, shown_name, to_part
from gateway.policy.chat_input import ChatInput, InputMessage


class Judged(NamedTuple):
    request: ChatRequest
    ignored: tuple[str, ...]  # what the caller sent that the request leaves out, by name
    # The options the caller chose, for the provider to honour or refuse by name; the operator's own
    # defaults are not among them (an adapter that cannot send the operator's temperature leaves it out).
    asked: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    max_messages: int
    max_message_chars: int
    max_total_chars: int
    uploads: UploadLimits
    model: str  # the configured model: always a caller's valid choice
    allowed_models: tuple[str, ...]
    max_client_temperature: float | None
    max_tokens: int | None
    # A caller's system text (a `system` prop, system or developer messages): used after the operator's
    # prompt, left out and named in the reply's `x-gateway-ignored` header, or refused.
    client_system: Literal["allow", "ignore", "refuse"]
    system_prompt: str | None = None  # the operator's
    temperature: float | None = None  # the operator's

    @property
    def max_json_items(self) -> int:
        """Commas and brackets a JSON body within these limits can hold: messages' fields and files,
        and at most every character of their text. A body with more is refused before it is parsed."""
        return self.max_total_chars + self.max_messages * (16 + 4 * self.uploads.max_files) + 4096

    def judge(self, chat_input: ChatInput) -> Judged:
        """The provider request for `chat_input`, and what of it was left out; raises `GatewayError` for
        what the caller may not ask."""
        self.check_sizes(chat_input.messages)
        options = chat_input.options
        ignored = list(chat_input.ignored)
        client_system = self._client_system(chat_input, ignored)
        system = "\n\n".join(text for text in (self.system_prompt, client_system) if text) or None
        temperature = self._temperature(options.temperature)
        asked = ChatRequest(
            self._messages(chat_input.messages),
            system=system,
            model=self._model(options.model),
            max_tokens=self._max_tokens(options.max_tokens),
            temperature=temperature,
            **chat_input.fields,
        )
        request = asked if temperature is not None else replace(asked, temperature=self.temperature)
        return Judged(request, tuple(ignored), requested_options(asked))

    def request_for(self, chat_input: ChatInput) -> ChatRequest:
        return self.judge(chat_input).request

    def check_sizes(self, messages: tuple[InputMessage, ...]) -> None:
        if len(messages) > self.max_messages:
            raise bad_request(413, f"Too many messages: {len(messages)}; the limit is {self.max_messages}.")
        total = 0
        for index, message in enumerate(messages):
            # Attachment names are the caller's text too: they are sent and stored (cut to NAME_CHARS).
            chars = len(message.text) + sum(len(shown_name(file.name)) for file in message.attachments)
            if chars > self.max_message_chars:
                limit = self.max_message_chars
                raise bad_request(413, f"messages.{index} has {chars} characters; the limit is {limit}.")
            total += chars
            if len(message.attachments) > self.uploads.max_files:
                count, limit = len(message.attachments), self.uploads.max_files
                raise bad_request(413, f"Too many files in one message: {count}; the limit is {limit}.")
        if total > self.max_total_chars:
            limit = self.max_total_chars
            raise bad_request(413, f"The conversation has {total} characters; the limit is {limit}.")

    def _messages(self, messages: tuple[InputMessage, ...]) -> tuple[Message, ...]:
        # Attachments of older turns beyond the request's budget are not sent again: newest first.
        budget = self.uploads.max_history_files
        mapped: list[Message] = []
        for message in reversed(messages):
            if message.role == "system":
                continue
            if message.role == "tool":
                result = ToolResultPart(message.tool_call_id or "", message.text)
                mapped.append(Message("tool", (result,)))
                continue
            parts: list[Part] = [TextPart(message.text)] if message.text.strip() else []
            parts.extend(message.tool_calls)
            for attachment in message.attachments:
                if message is not messages[-1] and is_recording(attachment):  # heard on its own turn
                    parts.append(TextPart(f"[recording not sent again: {attachment.name or 'unnamed'}]"))
                elif budget > 0 or message is messages[-1]:
                    parts.append(to_part(attachment, self.uploads))
                    budget -= 1
                else:
                    parts.append(TextPart(f"[attached file not sent again: {shown_name(attachment.name)}]"))
            if parts:
                mapped.append(Message("user" if message.role == "user" else "assistant", tuple(parts)))
        if not any(message.role == "user" for message in mapped):
            raise bad_request(422, "messages: there is no user message with text or files to answer.")
        return tuple(reversed(mapped))

    def _client_system(self, chat_input: ChatInput, ignored: list[str]) -> str | None:
        texts = [message.text for message in chat_input.messages if message.role == "system" and message.text]
        prop = chat_input.options.system
        if isinstance(prop, str) and prop.strip():
            texts.insert(0, prop)
        if not texts or self.client_system == "allow":
            return "\n\n".join(texts) or None
        if self.client_system == "refuse":
            raise bad_request(422, "This gateway does not take a system prompt from the caller; remove it.")
        ignored.append("system")
        return None

    def _model(self, value: object) -> str | None:
        if value is None or value == self.model:
            return None
        if isinstance(value, str) and value in self.allowed_models:
            return value
        choices = ", ".join((self.model, *self.allowed_models))
        raise bad_request(
            422, f"The model {str(value)[:80]!r} is not available here; choose one of: {choices}."
        )

    def _temperature(self, value: object) -> float | None:
        if value is None:
            return None
        if self.max_client_temperature is None:
            raise bad_request(422, "This gateway does not let the caller set the temperature; remove it.")
        try:
            temperature = float(str(value))  # multipart props arrive as strings
        except (TypeError, ValueError):
            raise bad_request(422, "temperature must be a number.") from None
        if not 0 <= temperature <= self.max_client_temperature:
            raise bad_request(422, f"temperature must be between 0 and {self.max_client_temperature}.")
        return temperature

    def _max_tokens(self, value: object) -> int | None:
        if value is None or self.max_tokens is None:
            return self.max_tokens  # without an operator cap the caller cannot raise the reply length
        try:
            requested = int(str(value))
        except (TypeError, ValueError):
            raise bad_request(422, "max_tokens must be a whole number.") from None
        if requested < 1:
            raise bad_request(422, "max_tokens must be at least 1.")
        return min(requested, self.max_tokens)
