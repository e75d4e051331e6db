from rest_framework.routers import DefaultRouter

from relationships.api.views import RelationshipViewSet

router = DefaultRouter(trailing_slash=True)
router.register("relationships", RelationshipViewSet, basename="relationship")

urlpatterns = router.urls
