"""Optional auth for the chat endpoints: static bearer keys and short-lived HMAC-signed JWTs.

A site's backend mints a JWT (HS256, with `exp`) for its widget with `GATEWAY_JWT_SECRET`; the widget sends
it as `Authorization: Bearer …` (websockets: `?access_token=…`, since browsers send no headers there).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import jwt
from pydantic import SecretStr

from gateway.errors import unauthorized


@dataclass(frozen=True)
class Authenticator:
    api_keys: tuple[SecretStr, ...]
    jwt_secret: SecretStr | None

    @property
    def enabled(self) -> bool:
        return bool(self.api_keys) or self.jwt_secret is not None

    def identify(self, token: str | None) -> str | None:
        """The caller's identity for limits (`key:…`, `jwt:…`); None when auth is off.

        Raises a 401 `GatewayError` for a missing, expired or wrong token.
        """
        if not self.enabled:
            return None
        if not token:
            raise unauthorized("This gateway needs a token: send 'Authorization: Bearer <token>'.")
        if self._is_api_key(token):
            return "key:" + hashlib.sha256(token.encode()).hexdigest()[:16]
        if self.jwt_secret is not None and token.count(".") == 2:
            try:
                claims = jwt.decode(
                    token,
                    self.jwt_secret.get_secret_value(),
                    algorithms=["HS256"],
                    options={"require": ["exp"]},
                )
            except jwt.ExpiredSignatureError:
                raise unauthorized("The token has expired; get a new one from the site.") from None
            except jwt.InvalidTokenError:
                raise unauthorized("The token is not valid.") from None
            return "jwt:" + str(claims.get("sub") or hashlib.sha256(token.encode()).hexdigest()[:16])
        raise unauthorized("The token is not valid.")

    def _is_api_key(self, token: str) -> bool:
        supplied = token.encode()
        # Compare against every key, in constant time each, so timing tells nothing about which matched.
        matches = [hmac.compare_digest(supplied, key.get_secret_value().encode()) for key in self.api_keys]
        return any(matches)


def bearer_token(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None
