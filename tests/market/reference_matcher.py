"""A deliberately simple matcher, written from the issue's semantics, to check the engine against.

Everything is a flat list of order dicts: the best maker is found by scanning and sorting, time
priority is a global stamp, and FOK is decided by running the match on a deep copy and keeping it only
if it filled. It is slow (quadratic) and obviously right, which is the point; it shares no code with
``market.engine``. It emits the same event protocol so that whole event streams can be compared.
"""

from __future__ import annotations

import copy

NEW_FIELDS = {
    "op", "symbol", "id", "account", "side", "type", "price", "qty", "tif", "expire_at", "post_only", "stp",
    "display_qty", "stop_price", "trail", "activation_price",
}  # fmt: skip
LEG_FIELDS = NEW_FIELDS - {"op", "symbol", "account"}
TYPES = ("limit", "market", "stop_limit", "stop_market", "trailing_stop_limit", "trailing_stop_market")
STP_MODES = ("cancel_newest", "cancel_oldest", "cancel_both", "decrement", "none")


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class ReferenceMatcher:
    """Same interface as the engine for ``add_instrument`` and ``apply``; books via ``books(symbol)``."""

    def __init__(self) -> None:
        self.symbols: dict[str, dict] = {}
        self.orders: list[dict] = []  # live orders of every symbol: resting or waiting stops
        self.used_ids: set[str] = set()
        self.seq = 0
        self.now = 0
        self.stamp = 0  # time priority: a fresh stamp puts an order at the back of its level
        self.accepted = 0

    def add_instrument(self, symbol: str, band_bps: int | None = None, reference: int | None = None) -> None:
        self.symbols[symbol] = {"last": None, "band_bps": band_bps, "reference": reference}

    # ---------------------------------------------------------------- events

    def emit(self, out: list[dict], kind: str, **fields: object) -> None:
        self.seq += 1
        out.append({"type": kind, "seq": self.seq, **fields})

    def reject(self, out: list[dict], oid: object, reason: str) -> list[dict]:
        self.emit(out, "rejected", id=oid if isinstance(oid, str) else None, reason=reason)
        return out

    # ---------------------------------------------------------------- commands

    def apply(self, cmd: dict) -> list[dict]:
        out: list[dict] = []
        op = cmd.get("op")
        if op == "new":
            self.new(cmd, out)
        elif op == "cancel":
            self.cancel(cmd, out)
        elif op == "amend":
            self.amend(cmd, out)
        elif op == "time":
            self.time(cmd, out)
        elif op == "oco":
            self.oco(cmd, out)
        else:
            self.reject(out, cmd.get("id"), "unknown_op")
        return out

    def admit(self, cmd: dict, used: set[str]) -> str | dict:
        """The order a ``new`` command makes (not yet accepted), or the reason it is rejected."""
        oid = cmd.get("id")
        if set(cmd) - NEW_FIELDS:
            return "unknown_field"
        if not isinstance(oid, str) or oid == "":
            return "invalid_id"
        if oid in used:
            return "duplicate_id"
        symbol = cmd.get("symbol")
        if symbol not in self.symbols:
            return "unknown_symbol"
        if not isinstance(cmd.get("account"), str) or cmd["account"] == "":
            return "invalid_account"
        if cmd.get("side") not in ("buy", "sell"):
            return "invalid_side"
        kind = cmd.get("type")
        if kind not in TYPES:
            return "invalid_type"
        qty = cmd.get("qty")
        if not is_int(qty) or qty < 1:
            return "invalid_qty"
        price = cmd.get("price")
        has_price = kind in ("limit", "stop_limit", "trailing_stop_limit")
        if (has_price and not (is_int(price) and price > 0)) or (not has_price and price is not None):
            return "invalid_price"
        stop = cmd.get("stop_price")
        is_stop = kind.startswith("stop")
        if (is_stop and not (is_int(stop) and stop > 0)) or (not is_stop and stop is not None):
            return "invalid_stop_price"
        trail, act = cmd.get("trail"), cmd.get("activation_price")
        trailing = kind.startswith("trailing")
        if (trailing and not (is_int(trail) and trail > 0)) or (not trailing and trail is not None):
            return "invalid_trail"
        if act is not None and not (trailing and is_int(act) and act > 0):
            return "invalid_activation_price"
        tif = cmd.get("tif")
        if tif is None:
            tif = "ioc" if kind == "market" else "gtc"
        if tif not in ("gtc", "ioc", "fok", "gtd") or (kind == "market" and tif not in ("ioc", "fok")):
            return "invalid_tif"
        expire_at = cmd.get("expire_at")
        if (tif == "gtd" and not (is_int(expire_at) and expire_at > self.now)) or (
            tif != "gtd" and expire_at is not None
        ):
            return "invalid_expire_at"
        post_only = False if cmd.get("post_only") is None else cmd["post_only"]
        if not isinstance(post_only, bool) or (post_only and (kind != "limit" or tif in ("ioc", "fok"))):
            return "invalid_post_only"
        stp = "cancel_newest" if cmd.get("stp") is None else cmd["stp"]
        if stp not in STP_MODES:
            return "invalid_stp"
        display = cmd.get("display_qty")
        if display is not None and not (
            is_int(display) and 1 <= display <= qty and has_price and tif in ("gtc", "gtd")
        ):
            return "invalid_display_qty"
        is_buy = cmd["side"] == "buy"
        if kind == "limit":
            if not self.in_band(symbol, price):
                return "outside_band"
            if post_only and self.would_cross(symbol, is_buy, price):
                return "post_only_would_take"
        return {
            "id": oid, "symbol": symbol, "account": cmd["account"], "buy": is_buy, "price": price,
            "open": qty, "visible": qty, "tif": tif, "expire_at": expire_at, "post_only": post_only,
            "stp": stp, "display": display, "stop": stop, "pending": is_stop or trailing, "n": None,
            "stamp": None, "kind": kind, "trail": trail, "act": act, "link": None,
        }  # fmt: skip

    def accept(self, order: dict, out: list[dict]) -> None:
        self.accepted += 1
        order["n"] = self.accepted
        self.used_ids.add(order["id"])
        extra = {"trail": order["trail"], "activation_price": order["act"]} if order["trail"] else {}
        self.emit(
            out, "accepted", id=order["id"], symbol=order["symbol"], account=order["account"],
            side="buy" if order["buy"] else "sell", order_type=order["kind"], price=order["price"],
            qty=order["open"], tif=order["tif"], expire_at=order["expire_at"], post_only=order["post_only"],
            stp=order["stp"], display_qty=order["display"], stop_price=order["stop"], **extra,
        )  # fmt: skip

    def place(self, order: dict, out: list[dict]) -> None:
        if not order["pending"]:
            self.run(order, out)
            return
        self.orders.append(order)
        last = self.symbols[order["symbol"]]["last"]
        if order["trail"] and last is not None and self.follow(order, [last]):
            self.emit(out, "trailed", id=order["id"], stop_price=order["stop"])

    def new(self, cmd: dict, out: list[dict]) -> list[dict]:
        order = self.admit(cmd, self.used_ids)
        if isinstance(order, str):
            return self.reject(out, cmd.get("id"), order)
        self.accept(order, out)
        self.place(order, out)
        self.run_stops(order["symbol"], out)
        return out

    def oco(self, cmd: dict, out: list[dict]) -> list[dict]:
        """Two linked legs, checked together before either is accepted (see docs/matching.md)."""
        legs = cmd.get("orders")
        if not (isinstance(legs, list) and len(legs) == 2 and all(isinstance(leg, dict) for leg in legs)):
            return self.reject(out, None, "invalid_oco")
        ids = [leg.get("id") for leg in legs]
        if set(cmd) - {"op", "symbol", "account", "link", "orders"} or any(
            set(leg) - LEG_FIELDS for leg in legs
        ):
            for oid in ids:
                self.reject(out, oid, "unknown_field")
            return out
        if not isinstance(cmd.get("link"), str) or cmd["link"] == "":
            for oid in ids:
                self.reject(out, oid, "invalid_oco")
            return out
        used = set(self.used_ids)
        orders = []
        for i, leg in enumerate(legs):
            order = self.admit(
                {"op": "new", "symbol": cmd.get("symbol"), "account": cmd.get("account"), **leg}, used
            )
            if isinstance(order, str):
                for j, oid in enumerate(ids):
                    self.reject(out, oid, order if i == j else "oco_leg_rejected")
                return out
            used.add(order["id"])
            orders.append(order)
        limits = [o for o in orders if o["kind"] == "limit"]
        stops = [o for o in orders if o["pending"]]
        ok = (
            len(limits) == 1 and len(stops) == 1 and orders[0]["buy"] == orders[1]["buy"]
            and orders[0]["open"] == orders[1]["open"] and limits[0]["tif"] in ("gtc", "gtd")
        )  # fmt: skip
        if ok and stops[0]["stop"] is not None:
            limit, stop = limits[0]["price"], stops[0]["stop"]
            ok = limit < stop if limits[0]["buy"] else limit > stop
        if not ok:
            for oid in ids:
                self.reject(out, oid, "invalid_oco")
            return out
        for order in orders:
            self.accept(order, out)
        orders[0]["link"], orders[1]["link"] = orders[1], orders[0]
        self.emit(out, "linked", link=cmd["link"], ids=ids)
        self.place(stops[0], out)
        if limits[0]["link"] is not None:
            self.place(limits[0], out)
        self.run_stops(cmd["symbol"], out)
        return out

    def unlink(self, order: dict, out: list[dict]) -> None:
        """The link of ``order`` ends: its sibling, still live, is cancelled."""
        sibling = order["link"]
        if sibling is None:
            return
        order["link"] = sibling["link"] = None
        self.orders.remove(sibling)
        self.emit(out, "cancelled", id=sibling["id"], qty=sibling["open"], reason="oco")

    def follow(self, order: dict, prices: list[int]) -> bool:
        """Fold traded prices into a trailing stop's trigger, one by one; whether it changed."""
        before = order["stop"]
        for p in prices:
            if order["stop"] is None:
                if order["act"] is None or (p <= order["act"] if order["buy"] else p >= order["act"]):
                    order["stop"] = p + order["trail"] if order["buy"] else p - order["trail"]
            elif order["buy"]:
                order["stop"] = min(order["stop"], p + order["trail"])
            else:
                order["stop"] = max(order["stop"], p - order["trail"])
        return order["stop"] != before

    def cancel(self, cmd: dict, out: list[dict]) -> list[dict]:
        if set(cmd) - {"op", "symbol", "id", "account"}:
            return self.reject(out, cmd.get("id"), "unknown_field")
        order = self.find(cmd, out)
        if order is not None:
            self.orders.remove(order)
            self.emit(out, "cancelled", id=order["id"], qty=order["open"], reason="user")
            self.unlink(order, out)
        return out

    def amend(self, cmd: dict, out: list[dict]) -> list[dict]:
        oid = cmd.get("id")
        if set(cmd) - {"op", "symbol", "id", "account", "qty", "price"}:
            return self.reject(out, oid, "unknown_field")
        order = self.find(cmd, out)
        if order is None:
            return out
        if order["pending"] or (cmd.get("qty") is None and cmd.get("price") is None):
            return self.reject(out, oid, "invalid_amend")
        qty = order["open"] if cmd.get("qty") is None else cmd["qty"]
        if not is_int(qty):
            return self.reject(out, oid, "invalid_qty")
        if qty <= 0:
            return self.reject(out, oid, "invalid_amend")
        price = order["price"] if cmd.get("price") is None else cmd["price"]
        if not is_int(price) or price <= 0:
            return self.reject(out, oid, "invalid_price")
        if price == order["price"] and qty <= order["open"]:
            order["open"] = qty
            order["visible"] = min(order["visible"], qty)
            self.emit(out, "amended", id=oid, qty=qty, price=price, priority_kept=True)
            return out
        symbol = order["symbol"]
        crosses = self.would_cross(symbol, order["buy"], price)
        if price != order["price"]:
            if not self.in_band(symbol, price):
                return self.reject(out, oid, "outside_band")
            if order["post_only"] and crosses:
                return self.reject(out, oid, "post_only_would_take")
        order["price"], order["open"] = price, qty
        order["visible"] = qty if order["display"] is None else min(order["display"], qty)
        self.emit(out, "amended", id=oid, qty=qty, price=price, priority_kept=False)
        if crosses:
            self.orders.remove(order)
            self.run(order, out)
            self.run_stops(symbol, out)
        else:
            self.stamp += 1
            order["stamp"] = self.stamp
        return out

    def time(self, cmd: dict, out: list[dict]) -> list[dict]:
        if set(cmd) - {"op", "now"}:
            return self.reject(out, None, "unknown_field")
        now = cmd.get("now")
        if not is_int(now) or now < self.now:
            return self.reject(out, None, "invalid_time")
        self.now = now
        due = [o for o in self.orders if o["expire_at"] is not None and o["expire_at"] <= now]
        for order in sorted(due, key=lambda o: (o["expire_at"], o["n"])):
            if order not in self.orders:  # its sibling's expiry cancelled it
                continue
            self.orders.remove(order)
            self.emit(out, "expired", id=order["id"], qty=order["open"], reason="gtd")
            self.unlink(order, out)
        return out

    # ---------------------------------------------------------------- rules

    def find(self, cmd: dict, out: list[dict]) -> dict | None:
        if cmd.get("symbol") not in self.symbols:
            self.reject(out, cmd.get("id"), "unknown_symbol")
            return None
        for order in self.orders:
            if (order["id"], order["symbol"], order["account"]) == (
                cmd.get("id"),
                cmd["symbol"],
                cmd.get("account"),
            ):
                return order
        self.reject(out, cmd.get("id"), "unknown_order")
        return None

    def band(self, symbol: str) -> tuple[int, int] | None:
        info = self.symbols[symbol]
        centre = info["last"] if info["last"] is not None else info["reference"]
        if info["band_bps"] is None or centre is None:
            return None
        low = centre * (10_000 - info["band_bps"])
        high = centre * (10_000 + info["band_bps"])
        return (low + 9_999) // 10_000, high // 10_000

    def in_band(self, symbol: str, price: int) -> bool:
        band = self.band(symbol)
        return band is None or band[0] <= price <= band[1]

    def makers(self, symbol: str, taker_is_buy: bool) -> list[dict]:
        """Resting orders on the other side, best price first, then oldest first."""
        side = [
            o for o in self.orders if o["symbol"] == symbol and not o["pending"] and o["buy"] != taker_is_buy
        ]
        return sorted(side, key=lambda o: (o["price"] if taker_is_buy else -o["price"], o["stamp"]))

    def would_cross(self, symbol: str, is_buy: bool, price: int) -> bool:
        makers = self.makers(symbol, is_buy)
        return bool(makers) and (price >= makers[0]["price"] if is_buy else price <= makers[0]["price"])

    def run(self, order: dict, out: list[dict]) -> None:
        """Match a taker, then rest or close it."""
        band = self.band(order["symbol"])
        if order["tif"] == "fok":
            trial = copy.deepcopy(self)
            traded = trial.take(trial_order := copy.deepcopy(order), band, [])
            if traded < order["open"] or trial_order["open"] != 0:
                self.emit(out, "expired", id=order["id"], qty=order["open"], reason="fok")
                self.unlink(order, out)
                return
        self.take(order, band, out)
        reason = order.pop("stopped", None)
        if reason is None and order["open"] == 0:
            self.emit(out, "filled", id=order["id"])
        elif reason is None and order["price"] is not None and order["tif"] != "ioc":
            order["visible"] = (
                order["open"] if order["display"] is None else min(order["display"], order["open"])
            )
            self.stamp += 1
            order["stamp"] = self.stamp
            self.orders.append(order)
            self.emit(out, "resting", id=order["id"], qty=order["open"])
        else:
            why = reason or ("no_liquidity" if order["price"] is None else "ioc")
            self.emit(out, "expired", id=order["id"], qty=order["open"], reason=why)
            self.unlink(order, out)

    def take(self, taker: dict, band: tuple[int, int] | None, out: list[dict]) -> int:
        """Trade ``taker`` against the book; returns the quantity traded, sets ``stopped`` if cut short."""
        symbol = taker["symbol"]
        traded = 0
        prices: list[int] = []  # every trade price of this run, in order
        ended: list[dict] = []  # linked makers that traded or were cancelled, in that order
        while taker["open"] > 0:
            makers = self.makers(symbol, taker["buy"])
            if not makers:
                break
            maker = makers[0]
            price = maker["price"]
            limit = taker["price"]
            if limit is not None and (price > limit if taker["buy"] else price < limit):
                break
            if band is not None and not band[0] <= price <= band[1]:
                taker["stopped"] = "band"
                break
            if maker["account"] == taker["account"] and taker["stp"] != "none":
                mode = taker["stp"]
                if mode == "decrement":
                    cut = min(taker["open"], maker["open"])
                    taker["open"] -= cut
                    maker["open"] -= cut
                    maker["visible"] = min(maker["visible"], maker["open"])
                    self.emit(
                        out, "decremented", symbol=symbol, maker=maker["id"], taker=taker["id"], qty=cut
                    )
                    if maker["open"] == 0:
                        self.orders.remove(maker)
                        self.emit(out, "cancelled", id=maker["id"], qty=0, reason="stp")
                        ended.append(maker)
                    if taker["open"] == 0:
                        taker["stopped"] = "stp"
                    continue
                if mode in ("cancel_oldest", "cancel_both"):
                    self.orders.remove(maker)
                    self.emit(out, "cancelled", id=maker["id"], qty=maker["open"], reason="stp")
                    ended.append(maker)
                if mode in ("cancel_newest", "cancel_both"):
                    taker["stopped"] = "stp"
                    break
                continue
            qty = min(taker["open"], maker["visible"])
            taker["open"] -= qty
            maker["open"] -= qty
            maker["visible"] -= qty
            traded += qty
            prices.append(price)
            ended.append(maker)
            self.symbols[symbol]["last"] = price
            self.emit(
                out, "trade", symbol=symbol, price=price, qty=qty, maker=maker["id"], taker=taker["id"],
                maker_account=maker["account"], taker_account=taker["account"],
                taker_side="buy" if taker["buy"] else "sell",
            )  # fmt: skip
            if maker["open"] == 0:
                self.orders.remove(maker)
                self.emit(out, "filled", id=maker["id"])
            elif maker["visible"] == 0:
                maker["visible"] = min(maker["display"], maker["open"])
                self.stamp += 1
                maker["stamp"] = self.stamp
        # the end of the run: links it ended (the taker's first), then the trailing stops it moved
        for order in ([taker] if traded else []) + ended:
            self.unlink(order, out)
        trailing = [o for o in self.orders if o["symbol"] == symbol and o["pending"] and o["trail"]]
        for order in sorted(trailing, key=lambda o: o["n"]):
            if self.follow(order, prices):
                self.emit(out, "trailed", id=order["id"], stop_price=order["stop"])
        return traded

    def run_stops(self, symbol: str, out: list[dict]) -> None:
        """Trigger and run stops, one at a time, re-checking after each triggered order runs."""
        queue: list[dict] = []
        while True:
            last = self.symbols[symbol]["last"]
            fired = [
                o
                for o in self.orders
                if o["symbol"] == symbol
                and o["pending"]
                and last is not None
                and o["stop"] is not None
                and (last >= o["stop"] if o["buy"] else last <= o["stop"])
            ]
            for order in sorted(fired, key=lambda o: o["n"]):
                order["pending"] = False
                self.orders.remove(order)
                self.emit(out, "triggered", id=order["id"])
                self.unlink(order, out)
                queue.append(order)
            if not queue:
                return
            order = queue.pop(0)
            if order["price"] is not None and not self.in_band(symbol, order["price"]):
                self.emit(out, "expired", id=order["id"], qty=order["open"], reason="band")
            else:
                self.run(order, out)

    # ---------------------------------------------------------------- views

    def books(self, symbol: str) -> dict[str, list]:
        """``{"bids"|"asks": [(price, [(id, account, qty, visible), ...]), ...]}``, best level first."""
        result: dict[str, list] = {}
        for name, is_buy in (("bids", True), ("asks", False)):
            levels: dict[int, list] = {}
            for order in self.makers(symbol, not is_buy):
                levels.setdefault(order["price"], []).append(
                    (order["id"], order["account"], order["open"], order["visible"])
                )
            result[name] = list(levels.items())
        return result
