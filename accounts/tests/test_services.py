"""Services under concurrency: a refresh token is single use even when requests present it at
the same moment, and one email gets one account however many registrations race."""

import threading

import pytest
from django.db import connection

from accounts.models import User
from accounts.services import token_refresh, user_register
from accounts.tokens import RefreshToken, TokenRejected
from kglab.api.exceptions import Conflict


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_with_one_token_succeed_once(user):
    refresh = str(RefreshToken.for_user(user))
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt():
        try:
            barrier.wait()
            token_refresh(refresh=refresh)
            outcomes.append("ok")
        except TokenRejected as exc:
            outcomes.append(exc.reason)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "token_revoked", "token_revoked", "token_revoked"]


@pytest.mark.django_db
def test_a_refresh_token_not_issued_here_is_refused(user):
    """Signed with our key but never recorded as outstanding (e.g. minted by hand)."""
    token = RefreshToken()
    token["user_id"] = str(user.pk)
    token["hash_password"] = RefreshToken.for_user(user)["hash_password"]
    with pytest.raises(TokenRejected) as refused:
        token_refresh(refresh=str(token))
    assert refused.value.reason == "token_revoked"


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_email_create_one_account():
    barrier = threading.Barrier(3)
    outcomes: list[str] = []

    def attempt():
        try:
            barrier.wait()
            user_register(email="Race@Example.test", password="a-long-passphrase-77")
            outcomes.append("created")
        except Conflict as exc:
            outcomes.append(exc.detail.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created", "email_taken", "email_taken"]
    assert User.objects.filter(email__iexact="race@example.test").count() == 1
