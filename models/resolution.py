"""Messages of market resolution: the resolve/dispute updates, payouts, events and disputes.

`ResolveRequest` is also what an operator types into the Temporal CLI
(`--input '{"outcome":"yes"}'`), so its fields are plain and lenient: the market workflow's
validator checks them and rejects bad input with a clear message.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from models.money import MICROS_PER_DOLLAR, MoneyFormatError, parse_money

OUTCOME_VALUES = {"yes": MICROS_PER_DOLLAR, "no": 0, "void": MICROS_PER_DOLLAR // 2}


class ResolutionInputError(ValueError):
    pass


class ResolveRequest(BaseModel):
    """An admin's proposed (or confirmed) outcome: `outcome` or `settlement_value`, not both."""

    outcome: str | None = Field(None, description='"yes", "no" or "void"')
    settlement_value: str | None = Field(
        None, description='a YES contract\'s value in dollars, in [0, 1] on the tick, like "0.35"'
    )

    def value(self, tick: int) -> tuple[str, int]:
        """(outcome, settlement value in micro-dollars), or ResolutionInputError."""
        if (self.outcome is None) == (self.settlement_value is None):
            raise ResolutionInputError("give exactly one of outcome or settlement_value")
        if self.outcome is not None:
            outcome = self.outcome.strip().lower()
            if outcome not in OUTCOME_VALUES:
                raise ResolutionInputError('outcome must be "yes", "no" or "void"')
            return outcome, OUTCOME_VALUES[outcome]
        assert self.settlement_value is not None
        try:
            value = parse_money(self.settlement_value, allow_zero=True)
        except MoneyFormatError as exc:
            raise ResolutionInputError(f"settlement_value: {exc}") from exc
        if value > MICROS_PER_DOLLAR:
            raise ResolutionInputError("settlement_value must be between 0 and 1")
        if value % tick:
            raise ResolutionInputError(
                f"settlement_value {self.settlement_value} is not on the market's tick"
            )
        named = {v: k for k, v in OUTCOME_VALUES.items() if k != "void"}
        return named.get(value, "scalar"), value


class DisputeRequest(BaseModel):
    user_id: int
    reason: str = ""


class ConfirmRequest(BaseModel):
    reason: str = ""


class ResolutionView(BaseModel):
    """What a resolve, confirm or dispute update answers (and the `resolution` query shows)."""

    market_id: str
    status: str
    outcome: str | None = None
    settlement_value: int | None = None
    dispute_deadline: datetime | None = None
    disputes: int = 0


class RecordResolution(BaseModel):
    """The market workflow's order to write a resolution status (and its stream event)."""

    market_id: str
    status: str
    outcome: str | None = None
    settlement_value: int | None = None


# ---------------------------------------------------------------- payouts


class PayoutState(BaseModel):
    """The PayoutWorkflow's whole state, carried through continue-as-new."""

    market_id: str
    outcome: str
    settlement_value: int
    trade_engine_queue: str
    holders_per_activity: int = 500
    activities_per_run: int = 20
    after_user_id: int = 0
    holders_paid: int = 0
    amount_paid: int = 0
    activities_run: int = 0
    runs: int = 1
    finished: bool = False


class PayHoldersInput(BaseModel):
    market_id: str
    outcome: str
    settlement_value: int
    after_user_id: int
    max_holders: int
    chunk: int = 100


class PayHoldersResult(BaseModel):
    last_user_id: int
    holders_paid: int
    amount_paid: int
    done: bool


class PayoutProgress(BaseModel):
    """Heartbeat details of `pay_holders`: where a retried attempt resumes."""

    last_user_id: int
    holders_paid: int
    amount_paid: int


class FinishPayoutInput(BaseModel):
    market_id: str
    outcome: str
    settlement_value: int


class FinishPayoutResult(BaseModel):
    amm_payout: int
    remainder_to_fees: int


# ---------------------------------------------------------------- API bodies and views


class DisputeBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class DisputeView(BaseModel):
    id: str
    market_id: str
    user_id: str
    reason: str
    created_at: datetime


class CreateEventRequest(BaseModel):
    title: str = Field(min_length=3, max_length=200)
    description: str = Field("", max_length=5000)


class ResolveEventRequest(BaseModel):
    winning_market_id: str


class EventView(BaseModel):
    id: str
    title: str
    description: str
    status: str
    winning_market_id: str | None = None
    market_ids: list[str] = Field(default_factory=list)
    created_at: datetime
