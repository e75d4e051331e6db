"""Creates the first admin from KGLAB_ADMIN_EMAIL / KGLAB_ADMIN_PASSWORD, or with a
generated password printed once. Does nothing when that admin already exists."""

import os
import secrets

from django.core.management.base import BaseCommand

from accounts.models import Role, User


class Command(BaseCommand):
    help = "Create the admin user from KGLAB_ADMIN_EMAIL and KGLAB_ADMIN_PASSWORD if missing."

    def handle(self, *args, **options):
        email = os.environ.get("KGLAB_ADMIN_EMAIL", "admin@kglab.local").lower()
        if User.objects.filter(email__iexact=email).exists():
            self.stdout.write(f"Admin {email} exists.")
            return
        password = os.environ.get("KGLAB_ADMIN_PASSWORD")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(18)
        User.objects.create_user(email=email, password=password, role=Role.ADMIN, name="Administrator")
        if generated:
            self.stdout.write(
                self.style.WARNING(f"Created admin {email} with password: {password}  (shown once)")
            )
        else:
            self.stdout.write(f"Created admin {email}.")
