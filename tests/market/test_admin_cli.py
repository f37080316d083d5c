"""``flopex admin``: accounts, keys, cash and the invariant check from the command line."""

from __future__ import annotations

import re

import sqlalchemy as sa
from click.testing import CliRunner

from api.cli import main
from market.db import make_engine
from market.service import Exchange


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["admin", *args])
    return result.exit_code, result.output


def test_admin_commands(sqlite_url: str) -> None:
    code, out = run(
        "create-account", "--db", sqlite_url, "--name", "ops", "--role", "admin", "--role", "trader"
    )
    assert code == 0, out
    account = re.search(r"account (\S+)", out).group(1)
    key = re.search(r"api key (\S+)", out).group(1)
    engine = make_engine(sqlite_url)
    assert Exchange(engine).authenticate(key).id == account

    assert (
        run("deposit", "--db", sqlite_url, "--account", account, "--amount", "100.5", "--key", "k1")[0] == 0
    )
    code, out = run("deposit", "--db", sqlite_url, "--account", account, "--amount", "100.5", "--key", "k1")
    assert "available 100.500000 USD" in out  # the repeated key did nothing twice
    code, out = run("withdraw", "--db", sqlite_url, "--account", account, "--amount", "1000", "--key", "w1")
    assert code == 1
    assert "insufficient_funds" in out
    code, out = run(
        "deposit", "--db", sqlite_url, "--account", account, "--amount", "1.0000001", "--key", "k2"
    )
    assert code == 1
    assert "micro-dollar" in out

    assert run("check", "--db", sqlite_url) == (0, "ok: every invariant holds\n")
    with engine.begin() as connection:  # break the ledger behind the service's back
        connection.execute(sa.text("UPDATE balances SET amount = amount + 1 WHERE bucket = 'available'"))
    code, out = run("check", "--db", sqlite_url)
    assert code == 1
    assert "BREACH a balance differs from the sum of its entries" in out

    assert run("revoke-key", "--db", sqlite_url, "--key", key[:12])[0] == 0
    code, out = run("revoke-key", "--db", sqlite_url, "--key", key[:12])
    assert code == 1
    assert "not_found" in out
    engine.dispose()


def test_issue_and_list_keys_by_account_name(sqlite_url: str) -> None:
    code, out = run("create-account", "--db", sqlite_url, "--name", "desk", "--role", "trader")
    assert code == 0, out
    account = re.search(r"account (\S+)", out).group(1)
    code, out = run("issue-key", "--db", sqlite_url, "desk", "--scope", "read")
    assert code == 0, out
    key = re.search(r"api key (\S+)", out).group(1)
    assert "scopes read" in out
    holder = Exchange(make_engine(sqlite_url)).key_holder(key)
    assert (holder.account.id, holder.scopes) == (account, ("read",))
    code, out = run("list-keys", "--db", sqlite_url, account)
    lines = out.splitlines()
    assert code == 0
    assert len(lines) == 2
    assert "read,trade,transfer" in lines[0]
    assert lines[1].startswith(key[:12])
    assert "active" in lines[1]
    code, out = run("issue-key", "--db", sqlite_url, "nobody")
    assert code == 1
    assert "not_found" in out
