"""Shapes of the auth and user-management API. Validation of form only; the rules (password
strength, unique email, last admin) live in `accounts.services`."""

from rest_framework import serializers

from accounts.models import Role, User


class RejectUnknownFieldsMixin:
    """Refuses fields the endpoint does not accept (a PATCH of `role` on /auth/me/ is an error,
    not a silent no-op)."""

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            message = "This field cannot be changed here."
            raise serializers.ValidationError({name: [message] for name in unknown})
        return super().validate(attrs)


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "name",
            "role",
            "is_active",
            "date_joined",
            "last_login",
            "updated_at",
            "version",
        ]
        read_only_fields = fields


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Access token: send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="Refresh token: single use, exchange at /auth/token/refresh/.")
    token_type = serializers.CharField(help_text='Always "Bearer".')
    access_expires_at = serializers.DateTimeField()
    refresh_expires_at = serializers.DateTimeField()


class LoginResponseSerializer(TokenPairSerializer):
    user = UserSerializer()


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class VerifySerializer(serializers.Serializer):
    token = serializers.CharField(help_text="An access or a refresh token.")


class VerifyResponseSerializer(serializers.Serializer):
    token_type = serializers.ChoiceField(choices=["access", "refresh"])
    user_id = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(help_text="The refresh token of this session.")


class MeUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Your own name and email; any other field (such as `role`) is a 400."""

    email = serializers.EmailField(max_length=254, required=False)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    new_password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class UserAdminUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """What an admin may change on a user; any other field is a 400."""

    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class ApiErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable reason, e.g. `token_expired`.")
    message = serializers.CharField()
    details = serializers.DictField()
    request_id = serializers.CharField(allow_null=True)


class ApiErrorSerializer(serializers.Serializer):
    """The one error shape of the API."""

    error = ApiErrorBodySerializer()
