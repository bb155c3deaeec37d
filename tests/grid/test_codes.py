import pytest
from django.db import connection

from grid.codes import code_error, level_for_code, parent_code_of, validate_code
from grid.errors import InvalidInput
from grid.models import Area, AreaLevel

GOOD = [
    (AreaLevel.CITY, "3605", None),
    (AreaLevel.DISTRICT, "360502", "3605"),
    (AreaLevel.STREET, "360502001", "360502"),
    (AreaLevel.COMMUNITY, "360502001001", "360502001"),
    (AreaLevel.GRID, "360502001001001", "360502001001"),
    (AreaLevel.GRID, "36050200100101", "360502001001"),  # CJ/T 213-2005 two-digit sequence
]

BAD = [
    (AreaLevel.CITY, "36050", None, "4"),
    (AreaLevel.CITY, "3605", "36", "no parent"),
    (AreaLevel.DISTRICT, "360502", None, "needs a parent"),
    (AreaLevel.DISTRICT, "360602", "3605", "does not begin"),
    (AreaLevel.STREET, "36050200", "360502", "9"),
    (AreaLevel.STREET, "360521001", "360502", "does not begin"),
    (AreaLevel.COMMUNITY, "36050200100A", "360502001", "digits only"),
    (AreaLevel.GRID, "3605020010010011", "360502001001", "15 or 14"),
    (AreaLevel.GRID, "360502001002001", "360502001001", "does not begin"),
]


@pytest.mark.parametrize(("level", "code", "parent"), GOOD)
def test_good_codes_nest(level, code, parent, settings):
    settings.LANGUAGE_CODE = "en"
    assert code_error(level=level, code=code, parent_code=parent) is None
    validate_code(level=level, code=code, parent_code=parent)


@pytest.mark.parametrize(("level", "code", "parent", "reason"), BAD)
def test_bad_codes_are_rejected_with_the_reason(level, code, parent, reason):
    from django.utils import translation

    with translation.override("en"):
        message = code_error(level=level, code=code, parent_code=parent)
        assert message is not None and reason in message
        with pytest.raises(InvalidInput) as caught:
            validate_code(level=level, code=code, parent_code=parent)
        assert reason in caught.value.message


def test_reasons_are_in_chinese_by_default():
    message = code_error(level=AreaLevel.STREET, code="360521001", parent_code="360502")
    assert "上级" in message


def test_level_and_parent_from_code():
    assert level_for_code("360502001001001") == AreaLevel.GRID
    assert level_for_code("36050200100101") == AreaLevel.GRID
    assert level_for_code("12345") is None
    assert parent_code_of("360502001001001") == "360502001001"
    assert parent_code_of("36050200100101") == "360502001001"
    assert parent_code_of("360502") == "3605"
    assert parent_code_of("3605") is None


@pytest.mark.django_db
def test_database_refuses_a_code_of_the_wrong_length():
    from django.db import IntegrityError, transaction

    city = Area.objects.create(code="3605", name="新余市", level=AreaLevel.CITY)
    with pytest.raises(IntegrityError), transaction.atomic():
        Area.objects.create(code="36050", name="bad", level=AreaLevel.DISTRICT, parent=city)


@pytest.mark.django_db
def test_only_one_current_area_per_code_but_history_is_kept():
    from django.db import IntegrityError, transaction

    city = Area.objects.create(code="3605", name="新余市", level=AreaLevel.CITY)
    old = Area.objects.create(code="360502", name="旧渝水区", level=AreaLevel.DISTRICT, parent=city)
    with pytest.raises(IntegrityError), transaction.atomic():
        Area.objects.create(code="360502", name="dup", level=AreaLevel.DISTRICT, parent=city)
    old.valid_to = old.valid_from
    old.save(update_fields=["valid_to"])
    Area.objects.create(code="360502", name="渝水区", level=AreaLevel.DISTRICT, parent=city)
    assert Area.objects.filter(code="360502").count() == 2
    assert Area.objects.current().get(code="360502").name == "渝水区"


@pytest.mark.django_db
def test_subtree_is_a_prefix_query_served_by_the_pattern_index(square_city):
    subtree = Area.objects.subtree("360502001")
    assert set(subtree.values_list("level", flat=True)) == {
        AreaLevel.STREET,
        AreaLevel.COMMUNITY,
        AreaLevel.GRID,
    }
    assert subtree.count() == 1 + 2 + 8
    sql, params = subtree.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "area_code_prefix" in plan, plan
