"""Citizen ID numbers (GB 11643-1999): the check character, dates, regions, derived values."""

from datetime import date, timedelta

import pytest
from django.utils import timezone, translation

from community.idnumber import (
    check_character,
    id_number_check,
    id_number_error,
    normalise,
    parse_id_number,
)
from grid.errors import InvalidInput
from tests.fixtures.community import valid_id_number


def with_check(first17: str) -> str:
    return first17 + check_character(first17)


def reason(value: str) -> str:
    with translation.override("en"):
        return id_number_error(value)


# Published examples: 11010519491231002X is the specimen printed in GB 11643's explanations.
@pytest.mark.parametrize(
    ("value", "birth", "sex"),
    [
        ("11010519491231002X", date(1949, 12, 31), "F"),
        ("360502199001010036", date(1990, 1, 1), "M"),
        (with_check("36052120000229002"), date(2000, 2, 29), "F"),
    ],
)
def test_valid_numbers_give_birth_date_and_sex(value, birth, sex):
    parsed = parse_id_number(value)
    assert (parsed.value, parsed.birth_date, parsed.sex) == (value, birth, sex)


def test_a_lower_case_x_and_spaces_are_accepted_and_normalised():
    parsed = parse_id_number(" 110105 19491231 002x ")
    assert parsed.value == "11010519491231002X"
    assert normalise("11010519491231002x") == "11010519491231002X"


def test_the_check_character_follows_iso_7064_mod_11_2():
    assert check_character("11010519491231002") == "X"
    assert check_character("36050219900101003") == "6"
    # every remainder maps to its own character
    seen = {check_character(f"3605021990010100{n}") for n in range(10)}
    assert len(seen) == 10


def test_a_wrong_check_digit_names_the_expected_character():
    assert reason("110105194912310021") == (
        "the check character is 1 but should be X: a digit is wrong"
    )
    assert reason("360502199001010032") == (
        "the check character is 2 but should be 6: a digit is wrong"
    )


@pytest.mark.parametrize(
    ("first17", "expected"),
    [
        ("36050219900230001", "birth date 19900230 is not a date"),
        ("36050219901301001", "birth date 19901301 is not a date"),
        ("36050218991231001", "birth date 1899-12-31 is not plausible"),
    ],
)
def test_impossible_birth_dates(first17, expected):
    assert expected in reason(with_check(first17))


def test_a_birth_date_in_the_future_is_refused():
    tomorrow = timezone.localdate() + timedelta(days=1)
    value = with_check(f"360502{tomorrow:%Y%m%d}001")
    assert reason(value) == f"the ID number's birth date {tomorrow.isoformat()} is not plausible"
    assert id_number_check(value, today=tomorrow).birth_date == tomorrow


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("36050219900101001", "an ID number has 18 characters; this one has 17"),
        ("3605021990010100111", "an ID number has 18 characters; this one has 19"),
        ("", "an ID number has 18 characters; this one has 0"),
        ("36050219900101001A", "an ID number is 17 digits followed by a digit or X"),
        ("3605021990O101001X", "an ID number is 17 digits followed by a digit or X"),
        ("3605O2199001010011", "an ID number is 17 digits followed by a digit or X"),
    ],
)
def test_wrong_length_and_letters(value, expected):
    assert reason(value) == expected


@pytest.mark.parametrize("region", ["000000", "990101", "100000", "700000"])
def test_unknown_province(region):
    assert reason(with_check(f"{region}19900101001")) == (
        f"the ID number's region code {region} is not a Chinese region"
    )


def test_parse_raises_invalid_input_with_the_reason():
    with translation.override("en"), pytest.raises(InvalidInput) as caught:
        parse_id_number("360502199001010032")
    assert "should be 6" in caught.value.message


def test_the_sex_comes_from_the_parity_of_the_sequence():
    assert parse_id_number(valid_id_number(sequence=123)).sex == "M"
    assert parse_id_number(valid_id_number(sequence=124)).sex == "F"
    assert parse_id_number(valid_id_number(male=False)).sex == "F"
