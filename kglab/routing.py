"""WebSocket routes under /ws/, gathered from the apps that serve them."""

websocket_urlpatterns: list = []
