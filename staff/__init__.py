"""The staff web app: one Sanic application for every staff role.

Village legal advisers (their referrals), township justice offices (司法所: their villages,
overdue and escalated matters), hotline operators and the justice bureau's admins share it.
Server-rendered pages (Jinja2) for phones plus a JSON API under ``/api/``. It reads and writes
through ``records`` and searches through ``knowledge``; it imports nothing from ``actions``.

Start it with ``python -m staff serve``; ``python -m staff user …`` manages accounts.
"""
