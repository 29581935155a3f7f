"""Matrix errors: an errcode, a message, and the HTTP status the API answers with.

Protocol and storage code raise these; the HTTP layer turns them into
``{"errcode": ..., "error": ...}`` bodies using :data:`STATUS_BY_ERRCODE`
(spec: client-server API, "Standard error response").
"""

from __future__ import annotations

from typing import Any

#: The one table from errcode to HTTP status. An errcode missing here answers 400.
STATUS_BY_ERRCODE: dict[str, int] = {
    "M_FORBIDDEN": 403,
    "M_UNKNOWN_TOKEN": 401,
    "M_MISSING_TOKEN": 401,
    "M_USER_LOCKED": 401,
    "M_USER_SUSPENDED": 403,
    "M_BAD_JSON": 400,
    "M_NOT_JSON": 400,
    "M_NOT_FOUND": 404,
    "M_LIMIT_EXCEEDED": 429,
    "M_UNRECOGNIZED": 404,
    "M_UNKNOWN": 400,
    "M_UNAUTHORIZED": 401,
    "M_USER_DEACTIVATED": 403,
    "M_USER_IN_USE": 400,
    "M_INVALID_USERNAME": 400,
    "M_ROOM_IN_USE": 400,
    "M_INVALID_ROOM_STATE": 400,
    "M_THREEPID_IN_USE": 400,
    "M_THREEPID_NOT_FOUND": 400,
    "M_THREEPID_AUTH_FAILED": 400,
    "M_THREEPID_DENIED": 400,
    "M_SERVER_NOT_TRUSTED": 400,
    "M_UNSUPPORTED_ROOM_VERSION": 400,
    "M_INCOMPATIBLE_ROOM_VERSION": 400,
    "M_BAD_STATE": 400,
    "M_GUEST_ACCESS_FORBIDDEN": 403,
    "M_CAPTCHA_NEEDED": 400,
    "M_CAPTCHA_INVALID": 400,
    "M_MISSING_PARAM": 400,
    "M_INVALID_PARAM": 400,
    "M_TOO_LARGE": 413,
    "M_EXCLUSIVE": 400,
    "M_RESOURCE_LIMIT_EXCEEDED": 403,
    "M_CANNOT_LEAVE_SERVER_NOTICE_ROOM": 403,
    "M_THREEPID_MEDIUM_NOT_SUPPORTED": 400,
    "M_UNKNOWN_POS": 400,
    "M_WRONG_ROOM_KEYS_VERSION": 403,
    "M_NOT_YET_UPLOADED": 504,
    "M_CANNOT_OVERWRITE_MEDIA": 409,
    "M_WEAK_PASSWORD": 400,
}


class MatrixError(Exception):
    """An error with a Matrix errcode. ``extra`` keys are merged into the JSON body."""

    def __init__(
        self,
        errcode: str,
        message: str,
        *,
        status: int | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.errcode = errcode
        self.message = message
        self.status = status if status is not None else STATUS_BY_ERRCODE.get(errcode, 400)
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"errcode": self.errcode, "error": self.message}
        body.update(self.extra)
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.errcode!r}, {self.message!r})"
