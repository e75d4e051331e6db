"""Auth and user-management endpoints. Each view validates its input, calls one service or
selector and serializes the result; every failure leaves in the one error shape."""

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.api.serializers import (
    ApiErrorSerializer,
    LoginResponseSerializer,
    LoginSerializer,
    LogoutSerializer,
    MeUpdateSerializer,
    PasswordChangeSerializer,
    RefreshSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserAdminUpdateSerializer,
    UserSerializer,
    VerifyResponseSerializer,
    VerifySerializer,
)
from accounts.authentication import JWTAuthentication
from accounts.filters import UserFilterSet
from accounts.models import User
from accounts.permissions import IsAdmin
from accounts.selectors import user_list, user_lock
from accounts.services import (
    token_refresh,
    token_verify,
    user_deactivate,
    user_login,
    user_logout,
    user_password_change,
    user_profile_update,
    user_register,
    user_update,
)
from accounts.throttles import RegisterRateThrottle, login_rate_limit_check
from kglab.api.concurrency import check_if_match, etag_for, if_none_match_hit
from kglab.api.viewsets import IF_MATCH_PARAMETER, IF_NONE_MATCH_PARAMETER

TAG = "auth"


def _errors(*codes: int) -> dict:
    descriptions = {
        400: "Invalid input (`validation_error`, field errors in `details.fields`).",
        401: "Not authenticated or token refused; `code` says why.",
        403: "Authenticated but not allowed (`permission_denied`).",
        404: "No such user (`not_found`).",
        409: "Conflicts with the current state (`email_taken`, `last_admin`).",
        412: "If-Match names an older version (`precondition_failed`).",
        429: "Rate limited; retry after `Retry-After` seconds.",
    }
    return {code: OpenApiResponse(ApiErrorSerializer, description=descriptions[code]) for code in codes}


def _user_response(request, user: User) -> Response:
    """A user's representation with its ETag; 304 when a GET's If-None-Match still holds."""
    if request.method == "GET" and if_none_match_hit(request, user):
        response = Response(status=status.HTTP_304_NOT_MODIFIED)
    else:
        response = Response(UserSerializer(user).data)
    response["ETag"] = etag_for(user)
    return response


def _user_write(request, *, pk: int, service, **fields) -> User:
    """Runs `service` on the user row locked in this transaction, after If-Match (412 when the
    row changed since the client read it: of two writers with one ETag exactly one wins)."""
    with transaction.atomic():
        user = user_lock(pk=pk)
        check_if_match(request, user)
        return service(user=user, **fields)


class PublicAuthView(APIView):
    """Endpoints reached without a token: a stray Authorization header is not evaluated, and
    401s still carry the Bearer challenge."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get_authenticate_header(self, request) -> str:
        return f'Bearer realm="{JWTAuthentication.www_authenticate_realm}"'


class RegisterView(PublicAuthView):
    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, RegisterRateThrottle]

    @extend_schema(
        tags=[TAG],
        operation_id="auth_register",
        request=RegisterSerializer,
        responses={201: UserSerializer, **_errors(400, 409, 429)},
    )
    def post(self, request):
        """Create an account. The role is always `user`; the password must pass the password
        validators (length 10+, not common, not all digits, not like the email)."""
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_register(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


def _pair_data(pair) -> dict:
    return {
        "access": pair.access,
        "refresh": pair.refresh,
        "token_type": pair.token_type,
        "access_expires_at": pair.access_expires_at,
        "refresh_expires_at": pair.refresh_expires_at,
    }


class LoginView(PublicAuthView):
    @extend_schema(
        tags=[TAG],
        operation_id="auth_token_obtain",
        request=LoginSerializer,
        responses={200: LoginResponseSerializer, **_errors(400, 401, 429)},
    )
    def post(self, request):
        """Log in with email and password; returns an access and a refresh token. Limited per
        client IP and per account (429 with Retry-After)."""
        email = request.data.get("email") if hasattr(request.data, "get") else None
        login_rate_limit_check(request=request, email=email)
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, pair = user_login(**serializer.validated_data)
        return Response(LoginResponseSerializer({**_pair_data(pair), "user": user}).data)


class TokenRefreshView(PublicAuthView):
    @extend_schema(
        tags=[TAG],
        operation_id="auth_token_refresh",
        request=RefreshSerializer,
        responses={200: TokenPairSerializer, **_errors(400, 401, 429)},
    )
    def post(self, request):
        """Exchange a refresh token for a new pair (rotation). The presented refresh token is
        blacklisted: using it again is 401 `token_revoked`."""
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = token_refresh(refresh=serializer.validated_data["refresh"])
        return Response(TokenPairSerializer(_pair_data(pair)).data)


class TokenVerifyView(PublicAuthView):
    @extend_schema(
        tags=[TAG],
        operation_id="auth_token_verify",
        request=VerifySerializer,
        responses={200: VerifyResponseSerializer, **_errors(400, 401, 429)},
    )
    def post(self, request):
        """Check an access or refresh token exactly as the API would accept it; 401 with the
        reason when it would be refused."""
        serializer = VerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = token_verify(token=serializer.validated_data["token"])
        data = {
            "token_type": token[jwt_settings.TOKEN_TYPE_CLAIM],
            "user_id": token[jwt_settings.USER_ID_CLAIM],
            "expires_at": datetime_from_epoch(token["exp"]),
        }
        return Response(VerifyResponseSerializer(data).data)


class LogoutView(APIView):
    # The access token itself is revoked, so only token authentication makes sense here.
    authentication_classes = [JWTAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=[TAG],
        operation_id="auth_logout",
        request=LogoutSerializer,
        responses={204: None, **_errors(400, 401, 429)},
    )
    def post(self, request):
        """End this session: the refresh token is blacklisted and the access token used for
        this request is refused from now on."""
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_logout(
            user=request.user, access_token=request.auth, refresh=serializer.validated_data["refresh"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=[TAG],
        operation_id="auth_me",
        parameters=[IF_NONE_MATCH_PARAMETER],
        responses={200: UserSerializer, 304: None, **_errors(401, 429)},
    )
    def get(self, request):
        """The authenticated user's account, with its ETag."""
        return _user_response(request, request.user)

    @extend_schema(
        tags=[TAG],
        operation_id="auth_me_update",
        request=MeUpdateSerializer,
        parameters=[IF_MATCH_PARAMETER],
        responses={200: UserSerializer, **_errors(400, 401, 409, 412, 429)},
    )
    def patch(self, request):
        """Change your name or email. The role cannot be changed here (400)."""
        serializer = MeUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = _user_write(
            request, pk=request.user.pk, service=user_profile_update, **serializer.validated_data
        )
        return _user_response(request, user)


class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=[TAG],
        operation_id="auth_password_change",
        request=PasswordChangeSerializer,
        responses={200: TokenPairSerializer, **_errors(400, 401, 429)},
    )
    def post(self, request):
        """Change your password. Every token issued before the change stops working; use the
        returned pair from now on."""
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = user_password_change(user=request.user, **serializer.validated_data)
        return Response(TokenPairSerializer(_pair_data(pair)).data)


@extend_schema_view(
    list=extend_schema(
        summary="List users (admins only).", responses={200: UserSerializer, **_errors(400, 401, 403)}
    ),
    retrieve=extend_schema(
        summary="A user (admins only).",
        parameters=[IF_NONE_MATCH_PARAMETER],
        responses={200: UserSerializer, 304: None, **_errors(401, 403, 404)},
    ),
)
@extend_schema(tags=["users"])
class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """User management for admins: list, filter, change roles, deactivate."""

    queryset = User.objects.all()
    serializer_class = UserSerializer
    permission_classes = [IsAdmin]
    filterset_class = UserFilterSet
    ordering_fields = ["id", "email", "name", "role", "date_joined", "last_login"]
    ordering = ["id"]

    def get_queryset(self):
        return user_list()

    def retrieve(self, request, *args, **kwargs):
        return _user_response(request, self.get_object())

    @extend_schema(
        request=UserAdminUpdateSerializer,
        parameters=[IF_MATCH_PARAMETER],
        responses={200: UserSerializer, **_errors(400, 401, 403, 404, 409, 412)},
    )
    def partial_update(self, request, pk=None):
        """Change a user's role, activation or name; effective on their next request.
        Deactivating stops all their tokens at once."""
        target = self.get_object()
        serializer = UserAdminUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = _user_write(request, pk=target.pk, service=user_update, **serializer.validated_data)
        return _user_response(request, user)

    @extend_schema(
        operation_id="users_deactivate",
        request=None,
        parameters=[IF_MATCH_PARAMETER],
        responses={200: UserSerializer, **_errors(401, 403, 404, 409, 412)},
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        """Deactivate a user: they cannot log in and their tokens stop working at once."""
        target = self.get_object()
        return _user_response(request, _user_write(request, pk=target.pk, service=user_deactivate))
