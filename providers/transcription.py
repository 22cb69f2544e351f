"""Speech-to-text over OpenAI's wire (`POST {base}/audio/transcriptions`, multipart `file` + `model`), for
the providers that have it, chosen by name like the chat adapters (`TRANSCRIBERS`).

The SDK prepares where the call goes and its headers, as for chat (providers/sdk_client.py): Azure's
deployment path and `api-version`, its `api-key` header. The call itself goes out over aiohttp, retried
and timed by the profile's retry policy as a reply's first event is: a transcription is one answer.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from pathlib import PurePath

import aiohttp
import orjson

from domain.messages import AudioPart
from domain.speech import Transcriber, Transcription
from providers import errors, http_provider, sdk_client, wire
from providers.config import ProviderOptions, load_settings, read_account
from providers.errors import UpstreamError
from providers.presets import PRESETS
from providers.resilient import RETRYABLE, RetryPolicy

log = logging.getLogger("gateway.resilience")

PATH = "/audio/transcriptions"
# OpenAI: `gpt-4o-mini-transcribe` makes fewer errors than `whisper-1` at half its price a minute, and
# answers the `json` and `text` formats the gateway uses (not whisper-1's srt, vtt or verbose_json).
OPENAI_MODEL = "gpt-4o-mini-transcribe"
# Speech-to-text endpoints tell formats apart by the file's extension.
_SUFFIX = {
    "audio/webm": ".webm",
    "audio/wav": ".wav",
    "audio/ogg": ".ogg",
    "audio/flac": ".flac",
    "audio/mp4": ".m4a",
    "audio/mpeg": ".mp3",
}
_ANSWER_BYTES = 1 << 20  # a transcript's JSON; more is not a transcript

TranscriberFactory = Callable[[ProviderOptions, str | None, RetryPolicy], Transcriber | None]


class HttpTranscriber:
    """One provider's `/audio/transcriptions`, over its own pooled aiohttp session (opened on first use)."""

    def __init__(
        self,
        name: str,
        endpoint: http_provider.Endpoint,
        options: ProviderOptions,
        model: str,
        policy: RetryPolicy,
        *,
        key_variable: str,
        secrets: tuple[str, ...],
    ) -> None:
        self.name = name
        self.model = model
        self._endpoint = endpoint
        self._options = options
        self._policy = policy
        self._key_variable = key_variable
        self._secrets = secrets
        self._session: aiohttp.ClientSession | None = None
        self._prepared: http_provider.Prepared | None = None
        self._calls = 0  # transcriptions under way: closing waits for them, as HttpProvider's does
        self._closing = False

    async def transcribe(self, transcription: Transcription) -> str:
        self._calls += 1
        try:
            return await self._retried(transcription)
        finally:
            self._calls -= 1
            if self._closing and not self._calls:
                await self._close_session()

    async def _retried(self, transcription: Transcription) -> str:
        attempt = 0
        while True:
            try:
                return await self._timed(transcription)
            except UpstreamError as exc:
                retryable = exc.kind in RETRYABLE and attempt < self._policy.retries
                wait = self._policy.delay(attempt, exc.retry_after) if retryable else None
                if wait is None:
                    raise
                log.info(
                    "%s speech-to-text failed (%s); retry %d in %.2fs", self.name, exc.kind, attempt + 1, wait
                )
                await asyncio.sleep(wait)
                attempt += 1

    async def _timed(self, transcription: Transcription) -> str:
        try:
            async with asyncio.timeout(self._policy.first_delta_timeout):
                return await self._post(transcription)
        except TimeoutError as exc:  # the deadline, or aiohttp's connect and read timeouts
            raise errors.timeout(self.name) from exc
        except aiohttp.ClientError as exc:
            raise errors.connection(self.name) from exc

    async def _post(self, transcription: Transcription) -> str:
        prepared = self._prepared or await self._prepare()
        if self._session is None:
            self._session = wire.session(self._options)
        proxy = prepared.proxy
        async with self._session.post(
            prepared.url,
            data=form(transcription, self.model),
            headers=prepared.headers,
            proxy=proxy.url if proxy else None,
            proxy_headers=proxy.headers if proxy else None,
        ) as response:
            body = await _read(response)
            if response.status >= 400:
                raise self._status_error(response, body)
        try:
            answer = orjson.loads(body)
        except orjson.JSONDecodeError:
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("text"), str):
            raise errors.broken_stream(self.name, "its speech-to-text sent no transcript")
        text: str = answer["text"]
        return text

    async def _prepare(self) -> http_provider.Prepared:
        url, headers = await self._endpoint.prepare(PATH)
        self._prepared = http_provider.Prepared.of(url, headers)
        return self._prepared

    def _status_error(self, response: aiohttp.ClientResponse, body: bytes) -> UpstreamError:
        return errors.from_status(
            self.name,
            response.status,
            errors.message_of(body),
            key_variable=self._key_variable,
            retry_after=errors.retry_after_seconds(response.headers.get("retry-after")),
            secrets=self._secrets,
        )

    async def aclose(self) -> None:
        """Close the connections once the transcriptions under way have ended (a reload replaced the
        profile while one ran); one that starts after this opens its own session, closed when it ends."""
        self._closing = True
        if not self._calls:
            await self._close_session()

    async def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def form(transcription: Transcription, default_model: str) -> aiohttp.FormData:
    """OpenAI's multipart request: the recording named by its format, the model, the caller's hints."""
    audio = transcription.audio
    body = aiohttp.FormData()
    body.add_field("file", audio.data, filename=filename(audio), content_type=audio.media_type)
    body.add_field("model", transcription.model or default_model)
    body.add_field("response_format", "json")
    if transcription.language:
        body.add_field("language", transcription.language)
    if transcription.prompt:
        body.add_field("prompt", transcription.prompt)
    if transcription.temperature is not None:
        body.add_field("temperature", str(transcription.temperature))
    return body


def filename(audio: AudioPart) -> str:
    """The user's name for the recording, with the extension of what it really is."""
    stem = PurePath(audio.name or "recording").stem or "recording"
    return stem + _SUFFIX.get(audio.media_type, ".bin")


async def _read(response: aiohttp.ClientResponse) -> bytes:
    body = bytearray()
    while len(body) < _ANSWER_BYTES and (piece := await response.content.read(_ANSWER_BYTES - len(body))):
        body += piece
    return bytes(body)


# --- which provider has speech-to-text -----------------------------------------------------------------


def _openai(options: ProviderOptions, model: str | None, policy: RetryPolicy) -> Transcriber | None:
    adapter = importlib.import_module("providers.openai")
    account = read_account(options, ("OPENAI_API_KEY",), "OPENAI_BASE_URL")
    if not account.api_key:
        return None  # the chat provider's own check names the missing key
    client = adapter.sdk(account.api_key, account.base_url, options)
    return _over_sdk(
        "openai", client, options, model or OPENAI_MODEL, policy, account.key_variable, account.api_key
    )


def _azure(options: ProviderOptions, model: str | None, policy: RetryPolicy) -> Transcriber | None:
    """Azure serves speech-to-text from a deployment of its own: GATEWAY_TRANSCRIPTION_MODEL names it."""
    azure = importlib.import_module("providers.azure")
    openai = importlib.import_module("openai")
    account = read_account(options, ("AZURE_OPENAI_API_KEY",), "AZURE_OPENAI_ENDPOINT")
    if not model or not account.api_key or not account.base_url:
        return None
    settings = load_settings(azure.AzureSettings, options.env_file)
    client = openai.AsyncAzureOpenAI(
        api_key=account.api_key,
        azure_endpoint=account.base_url,
        azure_deployment=model,
        api_version=settings.api_version,
        max_retries=0,
        timeout=sdk_client.timeout(options),
    )
    return _over_sdk("azure", client, options, model, policy, account.key_variable, account.api_key)


def _preset(name: str, default_model: str | None) -> TranscriberFactory:
    """An OpenAI-compatible host that serves `/audio/transcriptions` too."""

    def create(options: ProviderOptions, model: str | None, policy: RetryPolicy) -> Transcriber | None:
        adapter = importlib.import_module("providers.openai")
        prefix = name.upper() + "_"
        account = read_account(options, (prefix + "API_KEY",), prefix + "BASE_URL")
        model = model or default_model
        if model is None:
            return None
        client = adapter.sdk(
            account.api_key or "not-needed", account.base_url or PRESETS[name].base_url, options
        )
        return _over_sdk(name, client, options, model, policy, account.key_variable, account.api_key)

    return create


class EchoTranscriber:
    """The echo provider's speech-to-text: it describes a recording, offline, where a real one hears it."""

    name = "echo"
    model = "echo"

    async def transcribe(self, transcription: Transcription) -> str:
        audio = transcription.audio
        name = f"{audio.name}, " if audio.name else ""
        return f"(audio: {name}{audio.media_type}, {len(audio.data)} bytes; echo does not transcribe)"

    async def aclose(self) -> None:
        return None


def _echo(options: ProviderOptions, model: str | None, policy: RetryPolicy) -> Transcriber | None:
    return EchoTranscriber()


def _over_sdk(
    name: str,
    client: object,
    options: ProviderOptions,
    model: str,
    policy: RetryPolicy,
    key_variable: str,
    key: str | None,
) -> HttpTranscriber:
    return HttpTranscriber(
        name,
        sdk_client.SdkEndpoint(client),
        options,
        model,
        policy,
        key_variable=key_variable,
        secrets=(key,) if key else (),
    )


# Providers with speech-to-text, and the model each uses unless GATEWAY_TRANSCRIPTION_MODEL names one.
# Gemini hears recordings itself (`HEARS_AUDIO`); Anthropic, Ollama and the other presets have none.
TRANSCRIBERS: dict[str, TranscriberFactory] = {
    "echo": _echo,  # describes the recording, offline
    "openai": _openai,
    "azure": _azure,  # no default: a deployment of the operator's
    "groq": _preset("groq", "whisper-large-v3-turbo"),
    "mistral": _preset("mistral", "voxtral-mini-latest"),
    "together": _preset("together", "openai/whisper-large-v3"),
    "vllm": _preset("vllm", None),  # a Whisper model the server loaded: GATEWAY_TRANSCRIPTION_MODEL
}


def what_to_configure(provider: str) -> str:
    """For an operator whose provider has no speech-to-text here: what would give it one."""
    if provider in TRANSCRIBERS:
        return f"set GATEWAY_TRANSCRIPTION_MODEL to the {provider} model (Azure: deployment) that transcribes"
    others = ", ".join(name for name in TRANSCRIBERS if name != "echo")
    return (
        f"set GATEWAY_PROVIDER to one with speech-to-text ({others}; gemini hears recordings in a chat "
        "turn itself), or send text"
    )


def build(
    provider: str, options: ProviderOptions, model: str | None, policy: RetryPolicy
) -> Transcriber | None:
    """The speech-to-text of `provider`, or None where it has none (or it is not configured)."""
    factory = TRANSCRIBERS.get(provider)
    return factory(options, model, policy) if factory else None
