"""Deep Chat's multipart turns: repeated `files` parts, `message1..N` JSON fields, props as strings."""

from __future__ import annotations

import re

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from gateway.doors.deepchat_body import DeepChatBody, DeepChatMessage, chat_input
from gateway.errors import bad_request, describe_validation
from gateway.policy.attachments import UploadLimits, check_size
from gateway.policy.chat_input import Attachment, ChatInput

_MESSAGE_FIELD = re.compile(r"message(\d{1,4})")
_MAX_FIELD_BYTES = 1 << 20  # one message1..N field (a JSON-encoded message)


async def read_multipart(request: Request, limits: UploadLimits, max_fields: int) -> ChatInput:
    """The earlier messages and props, and the uploaded files as the newest turn's attachments."""
    try:
        form = await request.form(
            max_files=limits.max_files, max_fields=max_fields, max_part_size=_MAX_FIELD_BYTES
        )
    except HTTPException as exc:  # Starlette's parser limits; its messages say which limit
        status = 413 if "Too many" in str(exc.detail) else 400
        raise bad_request(status, f"The upload was refused: {exc.detail}") from None
    try:
        numbered: list[tuple[int, DeepChatMessage]] = []
        props: dict[str, str] = {}
        uploads: list[Attachment] = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                uploads.append(await _attachment(value, limits))
            elif match := _MESSAGE_FIELD.fullmatch(key):
                numbered.append((int(match[1]), _message(key, value)))
            else:
                props[key] = value
        messages = [message for _, message in sorted(numbered, key=lambda item: item[0])]
        # Validated as a dict so no prop name (even "messages") can collide with the model's own arguments.
        return chat_input(DeepChatBody.model_validate({**props, "messages": messages}), tuple(uploads))
    finally:
        await form.close()


async def _attachment(upload: UploadFile, limits: UploadLimits) -> Attachment:
    name = upload.filename or "unnamed"
    # Before reading it: no file over every limit is ever read into memory.
    check_size(name, upload.size or 0, max(limits.max_file_bytes, limits.max_text_file_bytes))
    return Attachment(name, upload.content_type or "", await upload.read())


def _message(field: str, value: str) -> DeepChatMessage:
    try:
        return DeepChatMessage.model_validate_json(value)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(error["type"] == "json_invalid" for error in errors):
            raise bad_request(400, f"{field} is not valid JSON.") from None
        raise bad_request(422, f"{field}: {describe_validation(errors)}") from None
