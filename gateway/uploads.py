"""Deep Chat's multipart turns: repeated `files` parts, `message1..N` JSON fields, props as strings."""

from __future__ import annotations

import re

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from gateway.attachments import UploadLimits, attachment_part, check_size
from gateway.deepchat import DeepChatBody, DeepChatMessage
from gateway.errors import ClientError, describe_validation
from providers.base import Part

_MESSAGE_FIELD = re.compile(r"message(\d{1,4})")
_MAX_FIELD_BYTES = 1 << 20  # one message1..N field (a JSON-encoded message)


async def read_multipart(request: Request, limits: UploadLimits) -> tuple[DeepChatBody, tuple[Part, ...]]:
    """The earlier messages and props as a `DeepChatBody`, and the uploaded files as parts."""
    try:
        form = await request.form(max_files=limits.max_files, max_fields=200, max_part_size=_MAX_FIELD_BYTES)
    except HTTPException as exc:  # Starlette's parser limits; its messages say which limit
        status = 413 if "Too many files" in str(exc.detail) else 400
        raise ClientError(status, f"The upload was refused: {exc.detail}") from None
    try:
        numbered: list[tuple[int, DeepChatMessage]] = []
        props: dict[str, str] = {}
        uploads: list[Part] = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                uploads.append(await _upload_part(value, limits))
            elif match := _MESSAGE_FIELD.fullmatch(key):
                numbered.append((int(match[1]), _message(key, value)))
            else:
                props[key] = value
        messages = [message for _, message in sorted(numbered, key=lambda item: item[0])]
        # Validated as a dict so no prop name (even "messages") can collide with the model's own arguments.
        return DeepChatBody.model_validate({**props, "messages": messages}), tuple(uploads)
    finally:
        await form.close()


async def _upload_part(upload: UploadFile, limits: UploadLimits) -> Part:
    name = upload.filename or "unnamed"
    check_size(
        name, upload.size or 0, max(limits.max_file_bytes, limits.max_text_file_bytes)
    )  # before reading
    return attachment_part(name, upload.content_type or "", await upload.read(), limits)


def _message(field: str, value: str) -> DeepChatMessage:
    try:
        return DeepChatMessage.model_validate_json(value)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(error["type"] == "json_invalid" for error in errors):
            raise ClientError(400, f"{field} is not valid JSON.") from None
        raise ClientError(422, f"{field}: {describe_validation(errors)}") from None
