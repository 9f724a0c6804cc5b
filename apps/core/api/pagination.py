"""The API's list pagination: keyset pages behind DRF's cursor interface.

DRF's own CursorPagination positions on the first ordering column only and skips ties with
an OFFSET, so a list ordered by a timestamp with many equal values degrades; this one uses
the same row-value keyset as the list pages (apps.core.pagination). Each list viewset
declares its `ordering`, ending with the primary key, and a matching index; `?ordering=`
(OrderingFilter) may choose another one, the primary key is appended to keep it unique.
"""

from __future__ import annotations

from rest_framework import pagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from apps.core.links import absolute_url
from apps.core.pagination import CURSOR_PARAM, KeysetPage, keys_for, paginate


class CursorPagination(pagination.CursorPagination):
    cursor_query_param = CURSOR_PARAM
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-pk",)

    page: KeysetPage | None = None

    def get_ordering(self, request, queryset, view) -> tuple[str, ...]:
        ordering = None
        for backend in getattr(view, "filter_backends", []):
            if hasattr(backend, "get_ordering"):
                ordering = backend().get_ordering(request, queryset, view)
                break
        ordering = ordering or getattr(view, "ordering", None) or self._queryset_ordering(queryset)
        ordering = (ordering,) if isinstance(ordering, str) else tuple(ordering)
        try:
            keys_for(queryset, ordering)
        except ValueError:
            # An ordering through a relation cannot be a keyset; the primary key always can.
            return tuple(self.ordering)
        return ordering

    def _queryset_ordering(self, queryset) -> tuple[str, ...]:
        ordering = queryset.query.order_by or queryset.model._meta.ordering or self.ordering
        return tuple(ordering) if all(isinstance(name, str) for name in ordering) else tuple(self.ordering)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.base_url = absolute_url(request.get_full_path())
        self.page_size = self.get_page_size(request)
        self.page = paginate(
            queryset,
            ordering=self.get_ordering(request, queryset, view),
            page_size=self.page_size,
            cursor=request.query_params.get(self.cursor_query_param),
        )
        return self.page.object_list

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        return replace_query_param(self.base_url, self.cursor_query_param, cursor)

    def get_next_link(self) -> str | None:
        return self._link(self.page.next_cursor)

    def get_previous_link(self) -> str | None:
        return self._link(self.page.previous_cursor)

    def get_first_link(self) -> str:
        return remove_query_param(self.base_url, self.cursor_query_param)

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        # DRF's own says `nullable`, which OpenAPI 3.1 (JSON Schema) ignores; both links are always
        # present and null at either end of the list.
        link = {"type": ["string", "null"], "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_html_context(self):
        return {"previous_url": self.get_previous_link(), "next_url": self.get_next_link()}
