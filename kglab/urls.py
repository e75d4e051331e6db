from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from kglab import health, metrics

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("entities.api.urls")),
    path("", include("relationships.api.urls")),
    path("", include("relationships.api.graph_urls")),
    path("", include("integrations.api.urls")),
]

urlpatterns = [
    path("health/live/", health.live, name="health-live"),
    path("health/ready/", health.ready, name="health-ready"),
    path("health/", health.ready, name="health"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="kglab/redoc.html"),
        name="redoc",
    ),
    path("api-auth/", include("rest_framework.urls")),
    path("metrics", metrics.metrics, name="prometheus-django-metrics"),
]

handler400 = "kglab.api.exceptions.handler400"
handler403 = "kglab.api.exceptions.handler403"
handler404 = "kglab.api.exceptions.handler404"
handler500 = "kglab.api.exceptions.handler500"
