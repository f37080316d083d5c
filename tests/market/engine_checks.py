"""Checks shared by the engine's property, differential and replay tests.

- :func:`check_book` asserts the structural invariants of a snapshot.
- :class:`EventBooks` rebuilds every book from the event stream alone and keeps, for each order, the
  quantity accounting (accepted + amendments = traded + decremented + closed + open).
- :func:`random_commands` generates a seeded command stream that exercises every order type.
"""

from __future__ import annotations

import itertools
import random

from market.engine import MatchingEngine

TYPES = ["limit", "market", "stop_limit", "stop_market", "trailing_stop_limit", "trailing_stop_market"]


def check_book(snapshot: dict) -> None:
    """No crossed book, levels strictly ordered and non-empty, totals equal to their orders."""
    for side, better in (("bids", lambda a, b: a > b), ("asks", lambda a, b: a < b)):
        levels = snapshot[side]
        for first, second in itertools.pairwise(levels):
            assert better(first["price"], second["price"]), (side, first["price"], second["price"])
        for level in levels:
            assert level["orders"], level
            assert level["qty"] == sum(o["qty"] for o in level["orders"]), level
            for o in level["orders"]:
                assert 0 < o["visible"] <= o["qty"], o
    if snapshot["bids"] and snapshot["asks"]:
        assert snapshot["bids"][0]["price"] < snapshot["asks"][0]["price"], "crossed book"


def levels_view(snapshot: dict) -> dict[str, list]:
    """A snapshot as ``{"bids"|"asks": [(price, [(id, account, qty, visible), ...]), ...]}``."""
    return {
        side: [
            (lvl["price"], [(o["id"], o["account"], o["qty"], o["visible"]) for o in lvl["orders"]])
            for lvl in snapshot[side]
        ]
        for side in ("bids", "asks")
    }


class EventBooks:
    """Books and order accounting rebuilt from events only (no commands, no engine internals)."""

    def __init__(self) -> None:
        self.orders: dict[str, dict] = {}
        self.levels: dict[str, dict[tuple[bool, int], list[str]]] = {}  # symbol -> (is_buy, price) -> ids
        self.last: dict[str, int] = {}
        self.closed: set[str] = set()
        self.seq = 0

    def feed(self, events: list[dict]) -> None:
        for event in events:
            self.seq += 1
            assert event["seq"] == self.seq, "seq must be global and gap-free"
            getattr(self, "on_" + event["type"])(event)

    # -- book placement
    def place(self, order: dict) -> None:
        order["visible"] = order["open"] if order["display"] is None else min(order["display"], order["open"])
        self.levels[order["symbol"]].setdefault((order["buy"], order["price"]), []).append(order["id"])
        order["resting"] = True

    def lift(self, order: dict) -> None:
        if order["resting"]:
            queue = self.levels[order["symbol"]][(order["buy"], order["price"])]
            queue.remove(order["id"])
            if not queue:
                del self.levels[order["symbol"]][(order["buy"], order["price"])]
            order["resting"] = False

    def close(self, oid: str, qty: int) -> None:
        order = self.orders[oid]
        assert qty == order["open"], (oid, qty, order)  # the closing quantity is exactly what was open
        order["closed"] += qty
        order["open"] = 0
        self.lift(order)
        self.closed.add(oid)
        ledger = order["traded"] + order["decremented"] + order["closed"]
        assert ledger == order["qty"] + order["amended"], order

    # -- events
    def on_accepted(self, e: dict) -> None:
        self.levels.setdefault(e["symbol"], {})
        self.orders[e["id"]] = {
            "id": e["id"], "symbol": e["symbol"], "account": e["account"], "buy": e["side"] == "buy",
            "price": e["price"], "qty": e["qty"], "open": e["qty"], "visible": e["qty"],
            "display": e["display_qty"], "traded": 0, "decremented": 0, "closed": 0, "amended": 0,
            "resting": False, "stop": e["stop_price"],
        }  # fmt: skip

    def on_rejected(self, e: dict) -> None:
        pass

    def on_trailed(self, e: dict) -> None:
        order = self.orders[e["id"]]
        assert not order["resting"], "only a waiting trailing stop moves"
        assert e["id"] not in self.closed
        assert order["stop"] != e["stop_price"], "a trailed event moves the trigger"
        order["stop"] = e["stop_price"]

    def on_linked(self, e: dict) -> None:
        first, second = (self.orders[oid] for oid in e["ids"])
        assert (first["account"], first["symbol"], first["buy"]) == (
            second["account"],
            second["symbol"],
            second["buy"],
        )

    def on_triggered(self, e: dict) -> None:
        assert e["id"] in self.orders
        assert not self.orders[e["id"]]["resting"]

    def on_resting(self, e: dict) -> None:
        order = self.orders[e["id"]]
        assert order["open"] == e["qty"]
        self.lift(order)
        self.place(order)

    def on_trade(self, e: dict) -> None:
        maker, taker = self.orders[e["maker"]], self.orders[e["taker"]]
        assert maker["resting"], "the maker of a trade rests in the book"
        assert maker["price"] == e["price"], "trades happen at the maker's price"
        levels = self.levels[e["symbol"]]
        prices = [price for is_buy, price in levels if is_buy == maker["buy"]]
        assert e["price"] == (max(prices) if maker["buy"] else min(prices)), "price priority"
        assert levels[(maker["buy"], e["price"])][0] == maker["id"], "time priority"
        assert maker["buy"] != taker["buy"]
        assert (e["taker_side"] == "buy") == taker["buy"]
        assert (e["maker_account"], e["taker_account"]) == (maker["account"], taker["account"])
        for order in (maker, taker):
            order["open"] -= e["qty"]
            order["traded"] += e["qty"]
            assert order["open"] >= 0
        maker["visible"] -= e["qty"]
        assert maker["visible"] >= 0
        if maker["visible"] == 0 and maker["open"] > 0:  # iceberg refresh at the back of the level
            self.lift(maker)
            self.place(maker)
        self.last[e["symbol"]] = e["price"]

    def on_decremented(self, e: dict) -> None:
        maker, taker = self.orders[e["maker"]], self.orders[e["taker"]]
        assert maker["account"] == taker["account"]
        for order in (maker, taker):
            order["open"] -= e["qty"]
            order["decremented"] += e["qty"]
            assert order["open"] >= 0
        maker["visible"] = min(maker["visible"], maker["open"])

    def on_amended(self, e: dict) -> None:
        order = self.orders[e["id"]]
        order["amended"] += e["qty"] - order["open"]
        if e["priority_kept"]:
            assert e["price"] == order["price"]
            assert e["qty"] <= order["open"]
            order["open"] = e["qty"]
            order["visible"] = min(order["visible"], e["qty"])
        else:
            self.lift(order)
            order["open"], order["price"] = e["qty"], e["price"]
            self.place(order)  # a crossing amend is followed by its trades and a closing event

    def on_filled(self, e: dict) -> None:
        self.close(e["id"], 0)

    def on_expired(self, e: dict) -> None:
        self.close(e["id"], e["qty"])

    def on_cancelled(self, e: dict) -> None:
        self.close(e["id"], e["qty"])

    # -- views
    def snapshot_view(self, symbol: str) -> dict[str, list]:
        """The rebuilt book in the shape of :func:`levels_view`."""
        out: dict[str, list] = {"bids": [], "asks": []}
        levels = self.levels.get(symbol, {})
        for (is_buy, price), ids in sorted(
            levels.items(), key=lambda kv: -kv[0][1] if kv[0][0] else kv[0][1]
        ):
            rows = [
                (i, self.orders[i]["account"], self.orders[i]["open"], self.orders[i]["visible"]) for i in ids
            ]
            out["bids" if is_buy else "asks"].append((price, rows))
        return out


def random_commands(seed: int, n: int, symbols: list[str], accounts: int = 5) -> list[dict]:
    """A seeded stream over a narrow price range, so that orders meet, cross, trigger and expire.

    About 1 in 40 commands is malformed on purpose (unknown field, float price, bool quantity, bad
    enum, duplicate or missing id, unknown symbol) to exercise rejections.
    """
    rng = random.Random(seed)
    ids: list[tuple[str, str, str]] = []  # (id, symbol, account) of the orders that may rest
    now = 0
    out: list[dict] = []
    for i in range(n):
        roll = rng.random()
        symbol = rng.choice(symbols)
        account = f"acct{rng.randrange(accounts)}"
        if roll < 0.55 or not ids:
            oid = f"o{i}"
            kind = rng.choices(TYPES, [70, 10, 12, 8, 6, 6])[0]
            side = rng.choice(["buy", "sell"])
            cmd: dict = {"op": "new", "symbol": symbol, "id": oid, "account": account, "side": side}
            cmd.update(type=kind, qty=rng.randint(1, 12))
            if kind in (
                "limit",
                "stop_limit",
                "trailing_stop_limit",
            ):  # buyers and sellers overlap around 100
                cmd["price"] = rng.randint(93, 102) if cmd["side"] == "buy" else rng.randint(98, 107)
            if kind.startswith("stop"):
                cmd["stop_price"] = rng.randint(96, 104)
            if kind.startswith("trailing"):
                cmd["trail"] = rng.randint(1, 4)
                if rng.random() < 0.3:
                    cmd["activation_price"] = rng.randint(96, 104)
            tif = rng.choices(["gtc", "ioc", "fok", "gtd", None], [30, 15, 10, 15, 30])[0]
            if tif is not None:
                cmd["tif"] = tif
            if tif == "gtd":
                cmd["expire_at"] = now + rng.randint(1, 30)
            if kind == "limit" and tif in (None, "gtc", "gtd") and rng.random() < 0.15:
                cmd["post_only"] = True
            if rng.random() < 0.5:
                cmd["stp"] = rng.choice(
                    ["cancel_newest", "cancel_oldest", "cancel_both", "decrement", "none"]
                )
            if kind in ("limit", "stop_limit") and tif in (None, "gtc", "gtd") and rng.random() < 0.15:
                cmd["display_qty"] = rng.randint(1, cmd["qty"])
            if kind != "market" and tif not in ("ioc", "fok"):  # the orders worth cancelling or amending
                ids.append((oid, symbol, account))
            if rng.random() < 0.06:  # a one-cancels-other pair: this order as take-profit, and a stop
                cmd = _oco(rng, cmd, f"s{i}", ids)
        elif roll < 0.68:
            oid, symbol, account = rng.choice(ids[-60:])
            cmd = {"op": "cancel", "symbol": symbol, "id": oid, "account": account}
        elif roll < 0.92:
            oid, symbol, account = rng.choice(ids[-60:])
            cmd = {"op": "amend", "symbol": symbol, "id": oid, "account": account}
            what = rng.random()
            if what < 0.45:
                cmd["qty"] = rng.randint(0, 12)
            if what > 0.3:
                cmd["price"] = rng.randint(93, 107)
        else:
            now += rng.randint(0, 6)
            cmd = {"op": "time", "now": now}
        if rng.random() < 0.025:
            cmd = _spoil(rng, cmd, ids)
        out.append(cmd)
    return out


def _oco(rng: random.Random, cmd: dict, stop_id: str, ids: list[tuple[str, str, str]]) -> dict:
    """Pair a new order with a stop of the same side and quantity; mostly valid, sometimes not."""
    take = {k: v for k, v in cmd.items() if k not in ("op", "symbol", "account")}
    is_buy = cmd["side"] == "buy"
    take.update(type="limit", price=rng.randint(94, 101) if is_buy else rng.randint(99, 106))
    for key in ("stop_price", "trail", "activation_price"):
        take.pop(key, None)
    if take.get("tif") in ("ioc", "fok") and rng.random() < 0.8:
        take["tif"] = "gtc"
    stop: dict = {"id": stop_id, "side": cmd["side"], "qty": cmd["qty"]}
    if rng.random() < 0.5:
        stop.update(type="trailing_stop_market", trail=rng.randint(1, 4))
    else:
        stop.update(type=rng.choice(["stop_market", "stop_limit"]), stop_price=rng.randint(96, 104))
        if stop["type"] == "stop_limit":
            stop["price"] = rng.randint(93, 107)
    if rng.random() < 0.1:
        stop["qty"] += 1  # not a pair: invalid_oco
    ids.append((stop_id, cmd["symbol"], cmd["account"]))
    legs = [take, stop] if rng.random() < 0.5 else [stop, take]
    return {
        "op": "oco",
        "symbol": cmd["symbol"],
        "account": cmd["account"],
        "link": f"L{stop_id}",
        "orders": legs,
    }


def _spoil(rng: random.Random, cmd: dict, ids: list[tuple[str, str, str]]) -> dict:
    bad = dict(cmd)
    how = rng.randrange(8)
    if how == 0:
        bad["colour"] = "red"
    elif how == 1:
        bad["price"] = 100.0
    elif how == 2:
        bad["qty"] = True
    elif how == 3:
        bad["side"] = "hold"
    elif how == 4 and ids:
        bad["id"] = rng.choice(ids)[0]
    elif how == 5:
        bad["symbol"] = "NOPE"
    elif how == 6:
        bad.pop("id", None)
    else:
        bad["op"] = "explode"
    return bad


def run_commands(engine: MatchingEngine, commands: list[dict]) -> list[dict]:
    """Apply every command and return all events."""
    events: list[dict] = []
    for command in commands:
        events += engine.apply(command)
    return events
