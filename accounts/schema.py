"""OpenAPI: our JWT authentication (and its subclasses) is a Bearer JWT security scheme."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class JWTAuthenticationScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.JWTAuthentication"
    match_subclasses = True
