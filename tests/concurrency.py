"""Running calls at the same instant, for the tests of row locks and unique constraints."""

from __future__ import annotations

import threading

from django.db import connection


def at_once(*calls, timeout: float = 60) -> list[object]:
    """Run the calls in threads of their own (each with its own database connection),
    released together; what each returned or raised, in call order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout)
            results[index] = call()
        except Exception as exc:  # the test inspects what each call got
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results
