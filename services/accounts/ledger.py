"""The double-entry ledger: the single source of truth for money.

Every movement is one transaction whose entries sum to zero. Transactions are idempotent by a
business key: posting the same key again changes nothing and returns the first transaction.
Balances live on the account rows (locked in id order, so concurrent posters never deadlock)
and every entry records the balance after it, so history never needs to be re-summed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import sql
from models.ledger import AccountKind

NON_NEGATIVE_KINDS = frozenset(
    {AccountKind.USER_AVAILABLE, AccountKind.USER_RESERVED, AccountKind.MARKET_ESCROW}
)


class LedgerError(Exception):
    """A posting that would break the ledger's rules (unbalanced, or a balance below zero)."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


@dataclass(frozen=True, slots=True)
class UserAccounts:
    user_id: int
    available: int  # account ids
    reserved: int


@dataclass(frozen=True, slots=True)
class Wallet:
    """A user's cash: what they can spend and what their resting orders hold."""

    available: int
    reserved: int

    @property
    def total(self) -> int:
        return self.available + self.reserved


@dataclass(slots=True)
class NewTransaction:
    kind: str
    idempotency_key: str
    legs: Sequence[tuple[int, int]]  # (account id, signed amount); must sum to zero
    user_id: int | None = None
    market_id: int | None = None
    order_id: str | None = None
    memo: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PostedTransaction:
    id: int
    idempotency_key: str
    created: bool  # False when the key had been posted before


def _net_legs(legs: Iterable[tuple[int, int]]) -> dict[int, int]:
    net: dict[int, int] = {}
    for account_id, amount in legs:
        net[account_id] = net.get(account_id, 0) + amount
    return {a: v for a, v in net.items() if v != 0}


# Account ids never change and ids are never reused (sequences do not roll back), so a process
# keeps the ones it has looked up: a trade batch otherwise spends about one statement in six
# finding the same accounts again. An id cached from a transaction that then rolled back names
# a user or market that will never exist, so it is never asked for.
_platform_ids: dict[str, int] = {}
_escrow_ids: dict[int, int] = {}
_user_ids: dict[int, UserAccounts] = {}


async def platform_account(conn: AsyncConnection, kind: AccountKind) -> int:
    cached = _platform_ids.get(kind.value)
    if cached is not None:
        return cached
    row = await conn.execute(
        sql(
            "SELECT id FROM ledger_accounts WHERE kind = :k AND user_id IS NULL "
            "AND market_id IS NULL"
        ),
        {"k": kind.value},
    )
    account_id = _platform_ids[kind.value] = int(row.scalar_one())
    return account_id


async def escrow_account(conn: AsyncConnection, market_id: int) -> int:
    cached = _escrow_ids.get(market_id)
    if cached is not None:
        return cached
    await conn.execute(
        sql(
            "INSERT INTO ledger_accounts (kind, market_id) VALUES ('market_escrow', :m) "
            "ON CONFLICT DO NOTHING"
        ),
        {"m": market_id},
    )
    row = await conn.execute(
        sql("SELECT id FROM ledger_accounts WHERE kind = 'market_escrow' AND market_id = :m"),
        {"m": market_id},
    )
    account_id = _escrow_ids[market_id] = int(row.scalar_one())
    return account_id


async def user_accounts(conn: AsyncConnection, user_ids: Iterable[int]) -> dict[int, UserAccounts]:
    """The cash accounts of several users (one query for those not looked up before)."""
    wanted = set(user_ids)
    missing = [uid for uid in wanted if uid not in _user_ids]
    if missing:
        rows = await conn.execute(
            sql(
                "SELECT user_id, kind, id FROM ledger_accounts "
                "WHERE user_id = ANY(:ids) AND kind IN ('user_available', 'user_reserved')"
            ),
            {"ids": missing},
        )
        found: dict[int, dict[str, int]] = {}
        for user_id, kind, account_id in rows:
            found.setdefault(int(user_id), {})[kind] = int(account_id)
        for uid, kinds in found.items():
            _user_ids[uid] = UserAccounts(uid, kinds["user_available"], kinds["user_reserved"])
    return {uid: _user_ids[uid] for uid in wanted if uid in _user_ids}


async def balances(conn: AsyncConnection, account_ids: Iterable[int]) -> dict[int, int]:
    rows = await conn.execute(
        sql("SELECT id, balance FROM ledger_accounts WHERE id = ANY(:ids)"),
        {"ids": list(set(account_ids))},
    )
    return {int(a): int(b) for a, b in rows}


async def post_transactions(
    conn: AsyncConnection, transactions: Sequence[NewTransaction]
) -> list[PostedTransaction]:
    """Post many transactions in two round trips, inside the caller's transaction.

    Keys already posted are skipped (and reported with created=False). Raises LedgerError,
    leaving the caller to roll back, if a transaction is unbalanced or would take a user or
    escrow account below zero.
    """
    return (await post_transactions_with_balances(conn, transactions))[0]


async def post_transactions_with_balances(
    conn: AsyncConnection, transactions: Sequence[NewTransaction], also_lock: Iterable[int] = ()
) -> tuple[list[PostedTransaction], dict[int, int]]:
    """`post_transactions`, also returning the balance each touched account (and each of
    `also_lock`, locked too) is left with as it will commit, so callers need not read it back."""
    if not transactions:
        return [], {}
    for tx in transactions:
        if sum(amount for _, amount in tx.legs) != 0:
            raise LedgerError(
                "unbalanced", f"transaction {tx.idempotency_key} does not sum to zero"
            )
    keys = [tx.idempotency_key for tx in transactions]
    touched = sorted({a for tx in transactions for a, _ in tx.legs} | set(also_lock))
    # Lock in id order (two batches touching the same accounts queue up instead of
    # deadlocking) and find the keys already posted, in one round trip.
    rows = await conn.execute(
        sql(
            """
            WITH locked AS (
                SELECT id, kind, balance FROM ledger_accounts WHERE id = ANY(:ids)
                ORDER BY id FOR UPDATE
            )
            SELECT id, kind, balance, NULL AS posted_key FROM locked
            UNION ALL
            SELECT id, NULL, NULL, idempotency_key FROM ledger_transactions
            WHERE idempotency_key = ANY(:keys)
            """
        ),
        {"ids": touched, "keys": keys},
    )
    balance: dict[int, int] = {}
    kind_of: dict[int, str] = {}
    already: dict[str, int] = {}
    for row_id, kind, value, posted_key in rows:
        if posted_key is None:
            balance[int(row_id)] = int(value)
            kind_of[int(row_id)] = kind
        else:
            already[posted_key] = int(row_id)
    posted: dict[str, PostedTransaction] = {
        k: PostedTransaction(i, k, created=False) for k, i in already.items()
    }
    fresh = [tx for tx in transactions if tx.idempotency_key not in already]
    if fresh:
        posted.update(await _post_fresh(conn, fresh, balance, kind_of))
    return [posted[k] for k in keys], balance


async def _post_fresh(
    conn: AsyncConnection,
    fresh: Sequence[NewTransaction],
    balance: dict[int, int],
    kind_of: dict[int, str],
) -> dict[str, PostedTransaction]:
    """Check and write the new transactions, their entries and the new balances at once;
    `balance` (locked by the caller) is updated in place."""
    import json

    entry_key: list[str] = []
    entry_account: list[int] = []
    entry_amount: list[int] = []
    entry_after: list[int] = []
    for tx in fresh:
        for account_id, amount in sorted(_net_legs(tx.legs).items()):
            if account_id not in balance:
                raise LedgerError("unknown_account", f"ledger account {account_id} does not exist")
            balance[account_id] += amount
            if balance[account_id] < 0 and kind_of[account_id] in NON_NEGATIVE_KINDS:
                raise LedgerError(
                    "insufficient_funds",
                    f"{kind_of[account_id]} account {account_id} would go below zero",
                    {"account_id": account_id, "transaction": tx.idempotency_key},
                )
            entry_key.append(tx.idempotency_key)
            entry_account.append(account_id)
            entry_amount.append(amount)
            entry_after.append(balance[account_id])
    changed = sorted(set(entry_account))
    inserted = await conn.execute(
        sql(
            """
            WITH posted AS (
                INSERT INTO ledger_transactions
                    (kind, idempotency_key, user_id, market_id, order_id, memo)
                SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:keys AS text[]),
                    CAST(:users AS bigint[]), CAST(:markets AS bigint[]),
                    CAST(:orders AS text[]), CAST(:memos AS jsonb[]))
                RETURNING idempotency_key, id
            ), entries AS (
                INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_after)
                SELECT posted.id, e.account, e.amount, e.after
                FROM unnest(CAST(:entry_keys AS text[]), CAST(:accounts AS bigint[]),
                    CAST(:amounts AS bigint[]), CAST(:afters AS bigint[]))
                    WITH ORDINALITY AS e(key, account, amount, after, i)
                JOIN posted ON posted.idempotency_key = e.key
                ORDER BY e.i
            ), balances AS (
                UPDATE ledger_accounts AS a SET balance = d.balance
                FROM unnest(CAST(:changed AS bigint[]), CAST(:balances AS bigint[]))
                    AS d(id, balance)
                WHERE a.id = d.id
            )
            SELECT idempotency_key, id FROM posted
            """
        ),
        {
            "kinds": [tx.kind for tx in fresh],
            "keys": [tx.idempotency_key for tx in fresh],
            "users": [tx.user_id for tx in fresh],
            "markets": [tx.market_id for tx in fresh],
            "orders": [tx.order_id for tx in fresh],
            "memos": [json.dumps(tx.memo) for tx in fresh],
            "entry_keys": entry_key,
            "accounts": entry_account,
            "amounts": entry_amount,
            "afters": entry_after,
            "changed": changed,
            "balances": [balance[a] for a in changed],
        },
    )
    return {k: PostedTransaction(int(i), k, created=True) for k, i in inserted}


async def post_transaction(conn: AsyncConnection, tx: NewTransaction) -> PostedTransaction:
    return (await post_transactions(conn, [tx]))[0]


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    unbalanced_transactions: int
    accounts_not_matching_entries: int
    negative_user_accounts: int
    total_of_all_accounts: int  # must be zero: the outside world's account mirrors the rest

    @property
    def ok(self) -> bool:
        return (
            self.unbalanced_transactions == 0
            and self.accounts_not_matching_entries == 0
            and self.negative_user_accounts == 0
            and self.total_of_all_accounts == 0
        )


async def reconcile(conn: AsyncConnection) -> ReconciliationReport:
    """Prove the ledger: every transaction sums to zero; each balance equals its entries; no
    user or escrow account is negative; and all accounts together sum to zero, i.e. user money
    + escrow + fees + market maker = deposits − withdrawals (the external account's mirror)."""
    row = (
        await conn.execute(
            sql(
                """
                SELECT
                  (SELECT count(*) FROM (SELECT transaction_id FROM ledger_entries
                     GROUP BY transaction_id HAVING sum(amount) <> 0) t),
                  (SELECT count(*) FROM ledger_accounts a
                     LEFT JOIN (SELECT account_id, sum(amount) AS s FROM ledger_entries
                                GROUP BY account_id) e ON e.account_id = a.id
                     WHERE a.balance <> coalesce(e.s, 0)),
                  (SELECT count(*) FROM ledger_accounts
                     WHERE kind IN ('user_available', 'user_reserved', 'market_escrow')
                       AND balance < 0),
                  (SELECT coalesce(sum(balance), 0) FROM ledger_accounts)
                """
            )
        )
    ).one()
    return ReconciliationReport(int(row[0]), int(row[1]), int(row[2]), int(row[3]))
