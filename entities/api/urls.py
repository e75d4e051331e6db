from rest_framework.routers import DefaultRouter

from entities.api.views import EntityViewSet

router = DefaultRouter(trailing_slash=True)
router.register("entities", EntityViewSet, basename="entity")

urlpatterns = router.urls
