"""`GET /`: a Deep Chat widget wired to this gateway, and the widget's bundle when it is installed."""

from __future__ import annotations

import html
from pathlib import Path

import orjson
from fastapi import APIRouter, Request
from starlette.responses import FileResponse, HTMLResponse, Response

from gateway.connection import service_of
from gateway.errors import GatewayError
from gateway.profile import DEFAULT

router = APIRouter()

_PACKAGE = Path(__file__).resolve().parent.parent
PAGE = (_PACKAGE / "static" / "index.html").read_text(encoding="utf-8")

# Where the container image copies the widget, or where `npm ci` (the README's set-up) puts it in the
# checkout the package runs from.
BUNDLE_CANDIDATES = (
    _PACKAGE / "static" / "deepChat.bundle.js",
    _PACKAGE.parent / "node_modules" / "deep-chat" / "dist" / "deepChat.bundle.js",
)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def demo_page(request: Request, profile: str | None = None) -> HTMLResponse:
    """The widget wired to the default profile, or to `?profile=NAME`."""
    chosen = service_of(request).profile(profile or DEFAULT)
    base = "" if chosen.name == DEFAULT else f"/p/{chosen.name}"
    provider = chosen.provider
    label = f"{provider.name} · {provider.model}" if provider else "not configured"
    if chosen.name != DEFAULT:
        label = f"{chosen.name}: {label}"
    config = orjson.dumps({"base": base, "conversations": chosen.settings.conversations}).decode()
    page = PAGE.replace("{{provider}}", html.escape(label)).replace("{{base}}", html.escape(base))
    # In a <script> element only "</" can end it early; JSON may spell it "<\/".
    return HTMLResponse(page.replace("{{config}}", config.replace("</", "<\\/")))


@router.get("/deep-chat.js", include_in_schema=False, response_model=None)
async def deep_chat_bundle() -> Response:
    bundle = next((path for path in BUNDLE_CANDIDATES if path.is_file()), None)
    if bundle is None:
        raise GatewayError(
            404, "The deep-chat bundle is not installed; run `npm ci` (see README).", kind="not_found"
        )
    return FileResponse(
        bundle, media_type="text/javascript", headers={"cache-control": "public, max-age=3600"}
    )
