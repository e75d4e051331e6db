from rest_framework.routers import DefaultRouter

from integrations.api.views import ExtractionJobViewSet

router = DefaultRouter(trailing_slash=True)
router.register("extraction/jobs", ExtractionJobViewSet, basename="extraction-job")

urlpatterns = router.urls
