from django.urls import path
from rest_framework.routers import DefaultRouter

from integrations.api.dead_letters import DeadLetterViewSet
from integrations.api.modules import ModuleTokenView, ModuleViewSet
from integrations.api.views import ExtractionJobViewSet

router = DefaultRouter(trailing_slash=True)
router.register("extraction/jobs", ExtractionJobViewSet, basename="extraction-job")
router.register("integrations/modules", ModuleViewSet, basename="module")
router.register("integrations/dead-letters", DeadLetterViewSet, basename="dead-letter")

urlpatterns = [
    path("auth/module-token/", ModuleTokenView.as_view(), name="module-token"),
    *router.urls,
]
