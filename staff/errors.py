"""The one error type of the staff app; the API renders it as JSON ``{"error", "detail"}``."""

from __future__ import annotations


class StaffError(Exception):
    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers or {}


def unauthorized() -> StaffError:
    return StaffError(401, "unauthorized", "log in first")


def forbidden(detail: str = "your role does not allow this") -> StaffError:
    return StaffError(403, "forbidden", detail)


def not_found(what: str = "referral") -> StaffError:
    return StaffError(404, "not_found", f"no such {what}")


def invalid(detail: str) -> StaffError:
    return StaffError(422, "invalid", detail)


def conflict(detail: str) -> StaffError:
    return StaffError(409, "conflict", detail)
