"""Invoices (unique numbers, exact amounts, a PDF that parses back) and permissions: nobody
reads another user's notifications, invoices or alerts."""

from __future__ import annotations

import io

import httpx
from pypdf import PdfReader

from tests.helpers import Client, register
from tests.notifications.conftest import SmtpSink, eventually
from tests.notifications.helpers import inbox, trader
from tests.trading.helpers import create_market, order


async def test_invoices_have_unique_numbers_exact_amounts_and_a_pdf(
    api: httpx.AsyncClient,
) -> None:
    admin = await register(api, admin=True)
    (alice, _), (bob, _) = await trader(api), await trader(api)
    mid = (await create_market(api, admin, title="Invoice market"))["id"]
    await order(api, alice, mid, action="buy", side="yes", count=100, price="0.50")
    for _ in range(3):
        hit = await order(api, bob, mid, action="buy", side="no", count=10, price="0.50")
        assert hit.json()["status"] == "filled", hit.text

    bobs = (await api.get("/v1/me/invoices", headers=bob.headers)).json()["items"]
    alices = (await api.get("/v1/me/invoices", headers=alice.headers)).json()["items"]
    assert len(bobs) == 3 and len(alices) == 3  # one per execution, maker and taker alike
    numbers = [i["number"] for i in bobs + alices]
    assert len(set(numbers)) == 6 and all(n.startswith("INV-") for n in numbers)
    first = bobs[-1]
    # 10 NO at 0.50 opened: $5.00; taker fee ceil_to_cent(0.07 x 10 x 0.25) = $0.18.
    assert first["lines"] == [
        {
            "fill_id": first["lines"][0]["fill_id"],
            "action": "buy",
            "side": "no",
            "count": 10,
            "price": "0.50",
            "amount": "5.00",
            "fee": "0.18",
        }
    ]
    assert (first["subtotal"], first["fees"], first["total"], first["direction"]) == (
        "5.00",
        "0.18",
        "5.18",
        "paid",
    )
    assert first["balance_after"] == "94.82"
    assert alices[0]["fees"] == "0.00"

    one = await api.get(f"/v1/me/invoices/{first['id']}", headers=bob.headers)
    assert one.status_code == 200 and one.json()["number"] == first["number"]
    for pdf in (
        await api.get(
            f"/v1/me/invoices/{first['id']}", headers={**bob.headers, "Accept": "application/pdf"}
        ),
        await api.get(f"/v1/me/invoices/{first['id']}.pdf", headers=bob.headers),
    ):
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
        assert first["number"] in text and "Invoice market" in text and "5.18" in text


async def test_nobody_reads_another_users_notifications_invoices_or_alerts(
    api: httpx.AsyncClient,
) -> None:
    admin = await register(api, admin=True)
    (alice, _), (bob, _) = await trader(api), await trader(api)
    mid = (await create_market(api, admin))["id"]
    await order(api, alice, mid, action="buy", side="yes", count=10, price="0.50")
    await order(api, bob, mid, action="buy", side="no", count=10, price="0.50")
    note = (await eventually(lambda: inbox(api, alice)))[0]
    invoice = (await api.get("/v1/me/invoices", headers=alice.headers)).json()["items"][0]
    alert = (
        await api.post(
            "/v1/me/alerts",
            json={"market_id": mid, "kind": "price_above", "threshold": "0.90"},
            headers=alice.headers,
        )
    ).json()

    for method, path in (
        ("POST", f"/v1/me/notifications/{note['id']}/read"),
        ("GET", f"/v1/me/invoices/{invoice['id']}"),
        ("GET", f"/v1/me/invoices/{invoice['id']}.pdf"),
        ("GET", f"/v1/me/alerts/{alert['id']}"),
        ("DELETE", f"/v1/me/alerts/{alert['id']}"),
    ):
        answer = await api.request(method, path, headers=bob.headers)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["error"]["code"] == "not_found"
    assert all(n["id"] != note["id"] for n in await inbox(api, bob))
    bobs = (await api.get("/v1/me/invoices", headers=bob.headers)).json()["items"]
    assert all(i["id"] != invoice["id"] for i in bobs)
    assert (await api.get("/v1/me/alerts", headers=bob.headers)).json()["items"] == []
    assert (await api.get("/v1/me/notifications")).status_code == 401

    # Alice marks hers read; the unread filter drops it.
    read = await api.post(f"/v1/me/notifications/{note['id']}/read", headers=alice.headers)
    assert read.status_code == 200 and read.json()["read"] is True
    assert note["id"] not in {n["id"] for n in await inbox(api, alice, unread="true")}


async def test_alert_input_is_checked(api: httpx.AsyncClient) -> None:
    admin = await register(api, admin=True)
    alice, _ = await trader(api)
    mid = (await create_market(api, admin))["id"]
    for body in (
        {"market_id": mid, "kind": "price_above"},
        {"market_id": mid, "kind": "price_above", "threshold": "1.50"},
        {"market_id": mid, "kind": "price_above", "threshold": "abc"},
        {"market_id": mid, "kind": "price_move", "threshold": "0.10"},
        {"market_id": mid, "kind": "market_resolved", "threshold": "0.10"},
        {"market_id": mid, "kind": "sometimes"},
    ):
        answer = await api.post("/v1/me/alerts", json=body, headers=alice.headers)
        assert answer.status_code == 422, (body, answer.text)
    missing = await api.post(
        "/v1/me/alerts", json={"market_id": "999999", "kind": "market_resolved"},
        headers=alice.headers,
    )  # fmt: skip
    assert missing.status_code == 404


async def test_deposits_and_withdrawals_get_receipts(
    api: httpx.AsyncClient, smtp_sink: SmtpSink
) -> None:
    alice, _ = await trader(api)
    for amount in ("10.00", "10.13"):  # the sandbox declines x.13
        made = await api.post("/v1/me/deposits", json={"amount": amount}, headers=alice.headers)
        assert made.status_code == 201, made.text
    took = await api.post("/v1/me/withdrawals", json={"amount": "5.00"}, headers=alice.headers)
    assert took.status_code == 201, took.text

    wanted = ["deposit_completed", "deposit_failed", "withdrawal_completed"]
    notes = await eventually(lambda: _receipts(api, alice, len(wanted)), within=30)
    assert sorted(n["kind"] for n in notes) == wanted
    done = next(n for n in notes if n["kind"] == "deposit_completed")
    assert done["data"]["amount"] == "10.00"
    assert done["data"]["receipt_number"] == f"RCT-{int(done['data']['payment_id']):08d}"
    assert done["data"]["balance_after"] == "110.00"
    await eventually(
        lambda: (
            sorted(
                kind
                for kind in smtp_sink.kinds_to(alice.email)
                if kind.startswith(("deposit_", "withdrawal_"))
            )
            == wanted
        )
    )


async def _receipts(api: httpx.AsyncClient, who: Client, n: int) -> list[dict[str, object]] | None:
    found = [
        note
        for note in await inbox(api, who)
        if str(note["kind"]).startswith(("deposit_", "withdrawal_"))
    ]
    return found if len(found) == n else None
