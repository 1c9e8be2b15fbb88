"""Run a multi-statement SQL script in a migration.

asyncpg prepares each statement, so a script must be sent one statement at a time; this splits
on semicolons outside dollar-quoted bodies (plpgsql functions) and string literals.
"""

from __future__ import annotations

from alembic import op


def split_statements(script: str) -> list[str]:
    statements: list[str] = []
    current: list[str] = []
    in_dollar = False
    in_quote = False
    i = 0
    while i < len(script):
        ch = script[i]
        if not in_quote and script.startswith("$$", i):
            in_dollar = not in_dollar
            current.append("$$")
            i += 2
            continue
        if not in_dollar and ch == "'":
            in_quote = not in_quote
        if not in_dollar and not in_quote and script.startswith("--", i):
            end = script.find("\n", i)
            i = len(script) if end == -1 else end
            continue
        if ch == ";" and not in_dollar and not in_quote:
            statement = "".join(current).strip()
            if statement:
                statements.append(statement)
            current = []
        else:
            current.append(ch)
        i += 1
    tail = "".join(current).strip()
    if tail:
        statements.append(tail)
    return statements


def execute_script(script: str) -> None:
    for statement in split_statements(script):
        op.execute(statement)
