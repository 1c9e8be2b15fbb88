"""Reconciliation activities on the accounts queue: thin adapters over the checks."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from core.db import connection, transaction
from services.accounts.reconciliation import BooksReport, alert_admins, check_books


class AlertAdmins(BaseModel):
    report: BooksReport
    check_id: str


@activity.defn(name="accounts.check_books")
async def check_books_activity() -> BooksReport:
    async with connection() as conn:
        return await check_books(conn)


@activity.defn(name="accounts.alert_admins")
async def alert_admins_activity(request: AlertAdmins) -> int:
    async with transaction() as conn:
        return await alert_admins(conn, request.report, request.check_id)
