import threading

import pytest
from django.db import connection, transaction

from grid.services.sequences import sequence_next


@pytest.mark.django_db
def test_counters_start_at_one_and_are_independent():
    assert [sequence_next(key="a") for _ in range(3)] == [1, 2, 3]
    assert sequence_next(key="b") == 1
    assert sequence_next(key="a") == 4


@pytest.mark.django_db
def test_a_rolled_back_number_is_given_again():
    sequence_next(key="r")
    with pytest.raises(RuntimeError), transaction.atomic():
        assert sequence_next(key="r") == 2
        raise RuntimeError("roll back")
    assert sequence_next(key="r") == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_transactions_never_share_a_number():
    first_took_number = threading.Event()
    results: list[int] = []

    def first():
        with transaction.atomic():
            results.append(sequence_next(key="c"))
            first_took_number.set()
            # hold the row lock a moment so the second transaction has to wait for it
            threading.Event().wait(0.3)
        connection.close()

    def second():
        first_took_number.wait(5)
        with transaction.atomic():
            results.append(sequence_next(key="c"))
        connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [1, 2]
    assert results == [1, 2]
