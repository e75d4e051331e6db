"""Constraints of the user table, enforced by PostgreSQL itself."""

import pytest
from django.db import IntegrityError

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_one_account_per_email_in_any_letter_case():
    User.objects.create(email="Case@Example.test")
    with pytest.raises(IntegrityError):
        User.objects.create(email="case@EXAMPLE.test")


def test_role_must_be_one_of_the_three():
    with pytest.raises(IntegrityError):
        User.objects.create(email="king@example.test", role="king")
