"""Page-number pagination with the metadata every list response carries."""

import math

from django.conf import settings
from rest_framework import pagination
from rest_framework.response import Response


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE

    def get_paginated_response(self, data):
        page_size = self.page.paginator.per_page
        count = self.page.paginator.count
        return Response(
            {
                "count": count,
                "page": self.page.number,
                "page_size": page_size,
                "total_pages": max(1, math.ceil(count / page_size)) if page_size else 1,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "page", "page_size", "total_pages", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "page": {"type": "integer", "example": 2},
                "page_size": {"type": "integer", "example": settings.API_PAGE_SIZE},
                "total_pages": {"type": "integer", "example": 3},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }
