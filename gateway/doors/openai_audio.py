"""OpenAI's speech-to-text door: `POST /v1/audio/transcriptions` (and `/p/NAME/v1/audio/transcriptions`).

Multipart `file` and `model`, with `language`, `prompt`, `response_format` (json or text) and
`temperature`; the answer is `{"text": ...}`, or the text itself. The profile's speech-to-text hears it
(providers/transcription.py).

Not a chat turn, so not an `HttpDoor`: no messages, no policy of them, no stream, no conversation. It is
admitted as every door's request is (the pipeline's `visitor` and `admit`: auth, the visitor's limits, a
stream slot held while the provider works), its refusals are spelled by OpenAI's door (`/v1/` is that
door's prefix, so a middleware's are too), and the request log accounts it.
"""

from __future__ import annotations

import orjson
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from domain.speech import Transcriber, Transcription
from gateway.connection import caller_of, profile_in_path, service_of
from gateway.doors import openai_chat
from gateway.doors.serve import error_response
from gateway.errors import GatewayError, bad_request
from gateway.policy.attachments import check_size, to_audio, transcribe
from gateway.policy.chat_input import Attachment
from gateway.profile import Profile
from gateway.telemetry.record import RequestRecord
from providers.errors import UpstreamError
from providers.transcription import what_to_configure

PATHS = ("/v1/audio/transcriptions", "/p/{profile}/v1/audio/transcriptions")
_FIELDS = frozenset({"file", "model", "language", "prompt", "response_format", "temperature"})
_MAX_FIELD_BYTES = 64 * 1024  # a prompt or a language: small
_FORMATS = ("json", "text")


def routes() -> list[BaseRoute]:
    return [Route(path, serve, methods=["POST"], name=f"openai-audio:{path}") for path in PATHS]


async def serve(request: Request) -> Response:
    service = service_of(request)
    caller = caller_of(request)
    try:
        visitor = service.pipeline.visitor(caller)
        profile = profile_in_path(request, service)
        slot = await service.pipeline.admit(profile, caller, visitor)
        try:
            text, response_format = await _transcribed(request, profile, caller.record)
        finally:
            slot.release()
    except GatewayError as error:
        if isinstance(error.__cause__, UpstreamError):
            caller.record.upstream_error = error.kind
        return error_response(openai_chat.DOOR, error)
    if response_format == "text":  # as OpenAI answers it: the transcript and a line end
        return Response(text + "\n", media_type="text/plain; charset=utf-8")
    return Response(orjson.dumps({"text": text}), media_type="application/json")


async def _transcribed(request: Request, profile: Profile, record: RequestRecord) -> tuple[str, str]:
    """The transcript, and the format the caller asked for it in."""
    transcriber = _transcriber(profile)
    record.model = transcriber.model
    form = await _form(request)
    try:
        transcription, response_format = await _read(form, profile, transcriber)
    finally:
        await form.close()
    return await transcribe(transcriber, transcription), response_format


def _transcriber(profile: Profile) -> Transcriber:
    if profile.transcriber is not None:
        return profile.transcriber
    provider = profile.ready()
    raise bad_request(
        415, f"The {provider.name} provider has no speech-to-text here: {what_to_configure(provider.name)}."
    ).about("model")


async def _form(request: Request) -> FormData:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "multipart/form-data":
        raise bad_request(400, "Send the recording as multipart/form-data with a `file` part.").about("file")
    try:
        return await request.form(max_files=1, max_fields=len(_FIELDS), max_part_size=_MAX_FIELD_BYTES)
    except HTTPException as exc:  # Starlette's parser limits; its messages say which limit
        status = 413 if "Too many" in str(exc.detail) else 400
        raise bad_request(status, f"The upload was refused: {exc.detail}") from None


async def _read(form: FormData, profile: Profile, transcriber: Transcriber) -> tuple[Transcription, str]:
    unknown = sorted(set(form.keys()) - _FIELDS)
    if unknown:  # never a silent drop: what this door does not do is refused by name
        names = ", ".join(unknown)
        raise bad_request(400, f"{names} is not supported here; remove it.").about(unknown[0])
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise bad_request(400, "The request needs the recording as its `file` part.").about("file")
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    model = fields.get("model") or None
    if model not in (None, transcriber.model, profile.name):
        raise bad_request(
            400, f"The model {model[:80]!r} is not available here; choose {transcriber.model}."
        ).about("model")
    response_format = fields.get("response_format") or "json"
    if response_format not in _FORMATS:
        raise bad_request(
            400, f"response_format {response_format[:40]!r} is not supported here; use json or text."
        ).about("response_format")
    name = upload.filename or "the recording"
    limit = profile.policy.uploads.max_file_bytes
    check_size(name, upload.size or 0, limit)  # before reading it: an oversized file is never read
    audio = to_audio(Attachment(upload.filename, upload.content_type or "", await upload.read()), limit)
    transcription = Transcription(
        audio,
        language=fields.get("language") or None,
        prompt=fields.get("prompt") or None,
        temperature=_temperature(fields.get("temperature")),
    )
    return transcription, response_format


def _temperature(value: str | None) -> float | None:
    if not value:
        return None
    try:
        temperature = float(value)
    except ValueError:
        raise bad_request(400, "temperature must be a number.").about("temperature") from None
    if not 0 <= temperature <= 1:
        raise bad_request(400, "temperature must be between 0 and 1.").about("temperature")
    return temperature
