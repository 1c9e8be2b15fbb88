"""The ledger posts balanced, idempotent transactions and never lets a user go negative."""

from __future__ import annotations

import uuid

import pytest

from core.db import transaction
from models.ledger import AccountKind
from services.accounts.ledger import (
    LedgerError,
    NewTransaction,
    balances,
    platform_account,
    post_transaction,
    reconcile,
    user_accounts,
)
from services.accounts.users import create_user
from tests.stack import TestStack


async def _new_user() -> int:
    async with transaction() as conn:
        return await create_user(
            conn, email=f"{uuid.uuid4().hex[:10]}@example.com", password="correct-horse-battery"
        )


async def test_posting_moves_money_and_repeating_the_key_changes_nothing(
    stack: TestStack,
) -> None:
    user = await _new_user()
    key = f"deposit:{uuid.uuid4()}"
    async with transaction() as conn:
        external = await platform_account(conn, AccountKind.EXTERNAL)
        acct = (await user_accounts(conn, [user]))[user]
        first = await post_transaction(
            conn,
            NewTransaction("deposit", key, [(external, -5_000_000), (acct.available, 5_000_000)]),
        )
        again = await post_transaction(
            conn,
            NewTransaction("deposit", key, [(external, -5_000_000), (acct.available, 5_000_000)]),
        )
        assert first.created and not again.created and first.id == again.id
        assert (await balances(conn, [acct.available]))[acct.available] == 5_000_000
        assert (await reconcile(conn)).ok


async def test_a_posting_that_would_overdraw_a_user_is_refused(stack: TestStack) -> None:
    user = await _new_user()
    with pytest.raises(LedgerError) as refused:
        async with transaction() as conn:
            external = await platform_account(conn, AccountKind.EXTERNAL)
            acct = (await user_accounts(conn, [user]))[user]
            await post_transaction(
                conn,
                NewTransaction(
                    "withdrawal", f"w:{uuid.uuid4()}", [(acct.available, -1), (external, 1)]
                ),
            )
    assert refused.value.code == "insufficient_funds"


async def test_an_unbalanced_posting_is_refused(stack: TestStack) -> None:
    user = await _new_user()
    async with transaction() as conn:
        acct = (await user_accounts(conn, [user]))[user]
        with pytest.raises(LedgerError, match="zero"):
            await post_transaction(
                conn, NewTransaction("bogus", f"b:{uuid.uuid4()}", [(acct.available, 10)])
            )
