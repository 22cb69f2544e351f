"""The rule of the API doors: a request's `model` may name a profile instead of a model.

The profile is found before the caller is admitted, so before the body is parsed: a cheap look at its
bytes for string `"model"` members (`locate`). Once the body is parsed, its `model` must agree with the
profile found (`judged_for`), or the request is refused.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from starlette.requests import Request

from gateway.errors import bad_request
from gateway.policy.chat_input import ChatInput
from gateway.profile import DEFAULT

if TYPE_CHECKING:
    from gateway.process.service import Service
    from gateway.profile import Profile

# A string `"model"` member anywhere in the body; profile names are lower-case letters, digits and `-`.
_MODEL_MEMBER = re.compile(rb'"model"\s*:\s*"([A-Za-z0-9-]{1,32})"')


async def locate(request: Request, service: Service) -> Profile:
    """`/p/NAME/...`, else the one profile the body's `model` members name, else the default."""
    if "profile" in request.path_params:
        return service.profile(request.path_params["profile"])
    if len(service.profiles) == 1:  # only the default: nothing in the body can name another
        return service.default
    named = {match.decode() for match in _MODEL_MEMBER.findall(await request.body())}
    profiles = sorted(name for name in named if name != DEFAULT and name in service.profiles)
    return service.profiles[profiles[0]] if len(profiles) == 1 else service.default


def judged_for(profile: Profile, model: str | None, chat_input: ChatInput, service: Service) -> ChatInput:
    """`chat_input` for `profile`: a `model` that names it asks for its own model; one that names another
    profile is refused (the body named two, and was admitted on neither's word)."""
    if model is None or model == DEFAULT or model not in service.profiles:
        return chat_input
    if model != profile.name:
        raise bad_request(400, f"The model {model!r} names a profile this request is not for.")
    return replace(chat_input, options=replace(chat_input.options, model=None))
