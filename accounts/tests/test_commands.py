"""`manage.py ensure_admin`: creates the first admin once, from the environment."""

import pytest
from django.core.management import call_command

from accounts.models import Role, User

pytestmark = pytest.mark.django_db


def test_creates_the_admin_from_the_environment_once(monkeypatch, capsys):
    monkeypatch.setenv("KGLAB_ADMIN_EMAIL", "Root@Example.test")
    monkeypatch.setenv("KGLAB_ADMIN_PASSWORD", "root-passphrase-2024")
    call_command("ensure_admin")
    admin = User.objects.get(email="root@example.test")
    assert admin.role == Role.ADMIN
    assert admin.check_password("root-passphrase-2024")

    call_command("ensure_admin")
    assert User.objects.filter(email__iexact="root@example.test").count() == 1
    assert "exists" in capsys.readouterr().out


def test_without_a_password_one_is_generated_and_shown_once(monkeypatch, capsys):
    monkeypatch.setenv("KGLAB_ADMIN_EMAIL", "gen@example.test")
    monkeypatch.delenv("KGLAB_ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    shown = capsys.readouterr().out.rsplit("password: ", 1)[1].split()[0]
    assert User.objects.get(email="gen@example.test").check_password(shown)
