"""Personal data at rest: Fernet encryption (one by one and in batches), key rotation, the
keyed lookup digest, masking."""

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from community import pii

KEY_OLD = Fernet.generate_key().decode()
KEY_NEW = Fernet.generate_key().decode()
ID = "11010519491231002X"


def test_encrypt_and_decrypt_round_trip_without_the_clear_value_in_the_token():
    token = pii.encrypt(ID)
    assert ID not in token and "19491231" not in token
    assert pii.decrypt(token) == ID
    assert pii.encrypt(ID) != token  # a fresh IV every time


def test_batch_encryption_makes_tokens_that_fernet_reads():
    values = [ID, "13812345678", "", "0790-6221234-801", "x" * 16, "长字符串" * 9]
    tokens = pii.encrypt_many(values)
    assert [pii.decrypt(token) for token in tokens] == values
    # read by the cryptography library's own Fernet, not only by pii.decrypt
    assert Fernet(settings.WANGGE_PII_KEYS[0]).decrypt(tokens[0].encode()) == ID.encode()
    assert len(set(pii.encrypt_many([ID, ID, ID]))) == 3
    assert pii.encrypt_many([]) == []


def test_key_rotation_new_key_first_old_tokens_still_decrypt():
    with override_settings(WANGGE_PII_KEYS=[KEY_OLD]):
        old_token = pii.encrypt(ID)
        old_batch = pii.encrypt_many([ID])[0]
    with override_settings(WANGGE_PII_KEYS=[KEY_NEW, KEY_OLD]):
        assert pii.decrypt(old_token) == ID
        assert pii.decrypt(old_batch) == ID
        new_token = pii.encrypt(ID)
        new_batch = pii.encrypt_many([ID])[0]
    with override_settings(WANGGE_PII_KEYS=[KEY_NEW]):
        assert pii.decrypt(new_token) == ID
        assert pii.decrypt(new_batch) == ID
        with pytest.raises(ImproperlyConfigured, match="was a key removed"):
            pii.decrypt(old_token)


def test_a_malformed_key_is_refused_clearly():
    with override_settings(WANGGE_PII_KEYS=["not-a-key"]), pytest.raises(ImproperlyConfigured):
        pii.encrypt(ID)
    with override_settings(WANGGE_PII_KEYS=["not-a-key"]), pytest.raises(ImproperlyConfigured):
        pii.encrypt_many([ID])


def test_the_lookup_digest_is_keyed():
    digest = pii.lookup_digest(ID)
    assert len(digest) == 64 and ID not in digest
    assert pii.lookup_digest(ID) == digest
    with override_settings(WANGGE_PII_LOOKUP_KEY="another-lookup-key"):
        assert pii.lookup_digest(ID) != digest


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (ID, "110105********002X"),
        ("360502199001010011", "360502********0011"),
        ("1234", "****"),
    ],
)
def test_id_numbers_are_masked_to_region_and_last_four(value, masked):
    assert pii.mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("13812345678", "138****5678"), ("0790-6221234", "********1234"), ("12", "12")],
)
def test_phones_are_masked(value, masked):
    assert pii.mask_phone(value) == masked
