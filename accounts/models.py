"""Users: email login and one of three roles.

- admin: everything, including user management;
- moderator: reads across owners and moderates data (edit, merge, delete); signs in to the
  Django admin, but cannot manage users;
- user: works on their own data only.
"""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MODERATOR = "moderator", "Moderator"
    USER = "user", "User"


# Django apps whose data a moderator may moderate in the admin.
MODERATED_APPS = frozenset({"entities", "relationships", "publishing", "integrations", "kglab"})


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields):
        if not email:
            raise ValueError("Users need an email address")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields):
        fields.setdefault("role", Role.USER)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields["role"] = Role.ADMIN
        return self._create(email, password, **fields)

    def get_by_natural_key(self, username):
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})


class User(AbstractBaseUser):
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER, db_index=True)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Grows by one on every change of the account through the API; the ETag is derived from it.
    version = models.PositiveIntegerField(default=1)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="accounts_user_role_valid"
            ),
            # One account per email in any letter case; also the index of login's
            # case-insensitive lookup (`email__iexact` compiles to UPPER(email::text)).
            models.UniqueConstraint(Upper("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_moderator(self) -> bool:
        return self.role == Role.MODERATOR

    @property
    def sees_all_owners(self) -> bool:
        """Admins and moderators read across owners."""
        return self.role in (Role.ADMIN, Role.MODERATOR)

    # Django admin and permission protocol, derived from the role.
    @property
    def is_staff(self) -> bool:
        return self.is_active and self.sees_all_owners

    @property
    def is_superuser(self) -> bool:
        return self.is_active and self.is_admin

    def has_perm(self, perm: str, obj=None) -> bool:
        if not self.is_active:
            return False
        if self.is_admin:
            return True
        return self.is_moderator and perm.split(".", 1)[0] in MODERATED_APPS

    def has_perms(self, perm_list, obj=None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        if not self.is_active:
            return False
        return self.is_admin or (self.is_moderator and app_label in MODERATED_APPS)
