"""Gap-free named counters for readable numbers."""

from __future__ import annotations

from django.db import connection

from grid.models import Sequence


def sequence_next(*, key: str) -> int:
    """The next value of the counter `key` (1 for a new key). One INSERT … ON CONFLICT
    statement: the row lock it takes lasts until the caller's transaction ends, so two
    transactions never receive the same value, and a rolled-back one gives its value back."""
    return sequence_next_block(key=key, count=1)


def sequence_next_block(*, key: str, count: int) -> int:
    """Reserve the next `count` values of the counter `key` at once; the first of them (the
    block is first … first + count - 1). Same statement and locking as sequence_next."""
    if count < 1:
        raise ValueError(f"a block of {count} values")
    table = Sequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (key, value) VALUES (%s, %s)
            ON CONFLICT (key) DO UPDATE SET value = {table}.value + EXCLUDED.value
            RETURNING value
            """,
            [key, count],
        )
        return cursor.fetchone()[0] - count + 1
