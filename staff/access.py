"""Who may see and do what: the scope of a user's roles and the checks the handlers share."""

from __future__ import annotations

import asyncio

from sanic import Request

from records import referral_scope
from records.referral_scope import ReferralItem, Scope
from records.users import StaffUser
from staff.errors import forbidden, not_found, unauthorized

CASEWORK_ROLES = ("adviser", "township", "admin")


def current_user(request: Request) -> StaffUser:
    user = request.ctx.user
    if user is None:
        raise unauthorized()
    return user


def require(request: Request, *roles: str) -> StaffUser:
    """The logged-in user if they hold one of ``roles`` (401 without a session, 403 without a role)."""
    user = current_user(request)
    if not user.has(*roles):
        raise forbidden()
    return user


def scope_of(user: StaffUser) -> Scope:
    return Scope(
        adviser_id=user.adviser_id if user.has("adviser") else None,
        township=user.township if user.has("township") else None,
        everything=user.has("admin"),
    )


async def visible_referral(user: StaffUser, referral_id: str) -> ReferralItem:
    """The referral if the user may see it; otherwise 404, exactly as if it did not exist."""
    found = await asyncio.to_thread(referral_scope.find, scope_of(user), referral_id)
    if found is None:
        raise not_found()
    return found


def is_assigned(user: StaffUser, item: ReferralItem) -> bool:
    """The adviser it is assigned to; with no adviser, the township office that holds it."""
    if item.adviser_id is None:
        return user.has("township") and user.township == item.township
    return user.has("adviser") and user.adviser_id == item.adviser_id


def may_work_on(user: StaffUser, item: ReferralItem) -> bool:
    """The assigned adviser, or the township office of the referral's township."""
    return is_assigned(user, item) or (user.has("township") and user.township == item.township)
