"""URLconf for the platform tests: the real routes plus a few views that fail on purpose."""

from django.contrib.auth import get_user_model
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class BoomError(RuntimeError):
    pass


class WhoAmIView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"user_id": request.user.pk})


class EchoView(APIView):
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        return Response({"received": request.data})


class DatabaseBackendView(APIView):
    """Counts users on the given connection alias; answers the server process's backend pid."""

    permission_classes = [AllowAny]

    def get(self, request: Request, alias: str) -> Response:
        count = get_user_model().objects.using(alias).count()
        return Response({"users": count, "backend_pid": connections[alias].connection.info.backend_pid})


class BoomView(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        raise BoomError("secret internal detail")


class UserRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()


class UserPageView(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = UserRowSerializer
    queryset = get_user_model().objects.order_by("id")
    filter_backends = []


def plain_database_view(request: HttpRequest, alias: str) -> JsonResponse:
    return JsonResponse({"users": get_user_model().objects.using(alias).count()})


def plain_boom_view(request: HttpRequest) -> JsonResponse:
    raise BoomError("secret internal detail")


urlpatterns = [
    path("test/whoami/", WhoAmIView.as_view()),
    path("test/echo/", EchoView.as_view()),
    path("test/db/<str:alias>/", DatabaseBackendView.as_view()),
    path("test/plain-db/<str:alias>/", plain_database_view),
    path("test/boom/", BoomView.as_view()),
    path("test/plain-boom/", plain_boom_view),
    path("test/users/", UserPageView.as_view()),
    path("", include("kglab.urls")),
]

handler400 = "kglab.api.exceptions.handler400"
handler403 = "kglab.api.exceptions.handler403"
handler404 = "kglab.api.exceptions.handler404"
handler500 = "kglab.api.exceptions.handler500"
