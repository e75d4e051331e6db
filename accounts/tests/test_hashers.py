"""Passwords are stored as Argon2id at OWASP's minimum parameters or stronger."""

import pytest
from django.contrib.auth.hashers import get_hasher

from accounts.hashers import KGLabArgon2PasswordHasher
from kglab.settings import base

pytestmark = pytest.mark.django_db

OWASP_MIN_MEMORY_KIB = 19 * 1024
OWASP_MIN_TIME_COST = 2


def test_parameters_meet_owasp_minimum():
    hasher = KGLabArgon2PasswordHasher()
    assert hasher.memory_cost >= OWASP_MIN_MEMORY_KIB
    assert hasher.time_cost >= OWASP_MIN_TIME_COST
    assert hasher.parallelism >= 1


def test_production_settings_hash_new_passwords_with_it():
    assert base.PASSWORD_HASHERS[0] == "accounts.hashers.KGLabArgon2PasswordHasher"


def test_new_passwords_are_stored_as_argon2id(settings, user):
    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
    user.set_password("a-long-passphrase-77")
    user.save()
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    decoded = get_hasher("argon2").decode(user.password)
    assert decoded["variety"] == "argon2id"
    assert decoded["memory_cost"] >= OWASP_MIN_MEMORY_KIB
    assert decoded["time_cost"] >= OWASP_MIN_TIME_COST
    assert user.check_password("a-long-passphrase-77")
    assert not user.check_password("a-long-passphrase-78")


class _WeakArgon2(KGLabArgon2PasswordHasher):
    memory_cost = 8 * 1024
    time_cost = 1


def test_weaker_argon2_hashes_are_upgraded_at_the_next_login(settings, user):
    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
    user.password = _WeakArgon2().encode("a-long-passphrase-77", _WeakArgon2().salt())
    user.save()
    assert get_hasher("argon2").decode(user.password)["memory_cost"] == 8 * 1024

    assert user.check_password("a-long-passphrase-77")
    user.refresh_from_db()
    decoded = get_hasher("argon2").decode(user.password)
    assert decoded["memory_cost"] == KGLabArgon2PasswordHasher.memory_cost
    assert decoded["time_cost"] == KGLabArgon2PasswordHasher.time_cost
