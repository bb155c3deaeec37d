"""Gap-free named counters for readable numbers."""

from __future__ import annotations

from django.db import connection

from grid.models import Sequence


def sequence_next(*, key: str) -> int:
    """The next value of the counter `key` (1 for a new key). One INSERT … ON CONFLICT
    statement: the row lock it takes lasts until the caller's transaction ends, so two
    transactions never receive the same value, and a rolled-back one gives its value back."""
    table = Sequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (key, value) VALUES (%s, 1)
            ON CONFLICT (key) DO UPDATE SET value = {table}.value + 1
            RETURNING value
            """,
            [key],
        )
        return cursor.fetchone()[0]
