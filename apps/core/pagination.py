"""Keyset (cursor) pagination for list pages and the API.

Page-number pagination counts every row and skips `OFFSET n` rows on each request, so a
page deep in a large list costs as much as reading everything before it. Here a page is
"the next `page_size` rows after this row" in a fixed ordering that ends with the primary
key: the database walks the matching index from the cursor position and stops. No
COUNT(*) is ever run; one extra row is fetched to know whether a next page exists.

The cursor (`?cursor=`) is opaque to the user: urlsafe base64 of JSON holding the ordering
values of the boundary row and a direction. Anything that does not decode into values of
the right types is treated as no cursor (first page), never an error.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import django_filters
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models.lookups import GreaterThan, LessThan

CURSOR_PARAM = "cursor"
# A shown total counts at most this many rows (then "1000+"), so it stays a bounded query.
TOTAL_CAP = 1000
NEXT, PREVIOUS = "n", "p"


@dataclass(frozen=True)
class Key:
    """One ordering column: its name, direction and whether it may be NULL."""

    name: str
    descending: bool
    nullable: bool
    output_field: models.Field
    # The attribute holding the value on a fetched row (`owner_id` for an `owner` key).
    attr: str


def _output_field(queryset: models.QuerySet, name: str) -> models.Field:
    if name in queryset.query.annotations:
        return queryset.query.annotations[name].output_field
    model = queryset.model
    if name == "pk":
        return model._meta.pk
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        raise ValueError(f"keyset ordering on unknown field {model.__name__}.{name}") from None


def _is_unique(queryset: models.QuerySet, name: str) -> bool:
    if name in ("pk", queryset.model._meta.pk.name):
        return True
    if name in queryset.query.annotations:
        return False
    try:
        field = queryset.model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return bool(getattr(field, "unique", False)) and not getattr(field, "null", True)


def keys_for(queryset: models.QuerySet, ordering: tuple[str, ...] | list[str]) -> list[Key]:
    """The ordering as keys, with the primary key appended when it does not already end it,
    so that every position in the list is unique (rows tied on the other columns)."""
    pk_names = {"pk", "id", queryset.model._meta.pk.name}
    names = [name for name in ordering if name.lstrip("-")]
    if not names or not _is_unique(queryset, names[-1].lstrip("-")):
        last_descending = bool(names) and names[-1].startswith("-")
        names.append("-pk" if last_descending else "pk")
    keys = []
    for name in names:
        bare = name.lstrip("-")
        output_field = _output_field(queryset, bare)
        nullable = bare in queryset.query.annotations or bool(getattr(output_field, "null", False))
        if bare == "pk" or bare in queryset.query.annotations:
            attr = bare
        elif getattr(output_field, "concrete", False) and not output_field.many_to_many:
            attr = output_field.attname
        else:
            raise ValueError(f"keyset ordering on a relation that is not a column: {bare}")
        keys.append(Key(bare, name.startswith("-"), nullable and bare not in pk_names, output_field, attr))
    if len({key.name for key in keys}) != len(keys):
        raise ValueError(f"keyset ordering names a column twice: {ordering}")
    return keys


def _order_by(keys: list[Key], *, reverse: bool = False) -> list[models.OrderBy]:
    """NULLs always sort last in the forward direction, so the cursor condition knows where
    they are whatever the column's direction."""
    result = []
    for key in keys:
        descending = key.descending != reverse
        expression = models.F(key.name)
        if key.nullable:
            nulls = {"nulls_last": True} if not reverse else {"nulls_first": True}
            result.append(expression.desc(**nulls) if descending else expression.asc(**nulls))
        else:
            result.append(expression.desc() if descending else expression.asc())
    return result


class _Row(models.Func):
    """`ROW(a, b, ...)`: PostgreSQL compares rows lexicographically and walks a matching
    multi-column btree index for `ROW(a, b) < ROW(x, y)`, which the equivalent OR/AND
    expansion does not always get."""

    function = "ROW"
    output_field = models.Field()


def _value(key: Key, value: Any) -> models.Value:
    return models.Value(value, output_field=key.output_field)


def _after(keys: list[Key], values: list[Any], *, reverse: bool) -> models.Q | models.Expression:
    """The condition "comes strictly after `values`" in the (possibly reversed) ordering."""
    directions = {key.descending for key in keys}
    if len(directions) == 1 and not any(key.nullable for key in keys) and None not in values:
        descending = keys[0].descending != reverse
        lookup = LessThan if descending else GreaterThan
        return lookup(
            _Row(*[models.F(key.name) for key in keys]),
            _Row(*[_value(key, value) for key, value in zip(keys, values, strict=True)]),
        )
    condition = models.Q(pk__in=[])
    equal = models.Q()
    for key, value in zip(keys, values, strict=True):
        condition |= equal & _beyond(key, value, reverse=reverse)
        equal &= models.Q(**{f"{key.name}__isnull": True}) if value is None else models.Q(**{key.name: value})
    return condition


def _beyond(key: Key, value: Any, *, reverse: bool) -> models.Q:
    """Rows strictly beyond `value` on this one column (NULLs last going forward)."""
    descending = key.descending != reverse
    if value is None:
        # NULLs are last going forward (nothing beyond them) and first going back.
        return models.Q(**{f"{key.name}__isnull": False}) if reverse else models.Q(pk__in=[])
    beyond = models.Q(**{f"{key.name}__{'lt' if descending else 'gt'}": value})
    if key.nullable and not reverse:
        beyond |= models.Q(**{f"{key.name}__isnull": True})
    return beyond


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def encode_cursor(values: list[Any], direction: str) -> str:
    payload = json.dumps({"v": [_jsonable(v) for v in values], "d": direction}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(token: str | None, keys: list[Key]) -> tuple[list[Any], str] | None:
    """The boundary values and direction, or None for a missing or unusable cursor."""
    if not token or len(token) > 2000:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        values, direction = payload["v"], payload["d"]
        if direction not in (NEXT, PREVIOUS) or not isinstance(values, list) or len(values) != len(keys):
            return None
        parsed = []
        for key, raw in zip(keys, values, strict=True):
            if raw is None:
                if not key.nullable:
                    return None
                parsed.append(None)
                continue
            if isinstance(raw, dict | list):
                return None
            value = key.output_field.to_python(raw)
            if value is None:
                return None
            if isinstance(value, datetime.datetime) and value.tzinfo is None:
                return None
            parsed.append(value)
    except (binascii.Error, ValueError, TypeError, KeyError, ValidationError, UnicodeDecodeError, OverflowError):
        return None
    return parsed, direction


@dataclass
class KeysetPage:
    """One page of rows, shaped enough like Django's `Page` for list templates."""

    object_list: list
    has_next: bool
    has_previous: bool
    next_cursor: str | None
    previous_cursor: str | None
    page_size: int
    next_url: str | None = field(default=None)
    previous_url: str | None = field(default=None)
    total: int | None = field(default=None)
    is_keyset = True

    @property
    def total_cap(self) -> int:
        return TOTAL_CAP

    @property
    def total_is_capped(self) -> bool:
        return self.total is not None and self.total > TOTAL_CAP

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def _values_of(row: Any, keys: list[Key]) -> list[Any]:
    return [getattr(row, key.attr) for key in keys]


def paginate(
    queryset: models.QuerySet, *, ordering: tuple[str, ...] | list[str], page_size: int, cursor: str | None
) -> KeysetPage:
    """Fetch one page (page_size + 1 rows, one query) after or before the cursor's row."""
    keys = keys_for(queryset, ordering)
    decoded = decode_cursor(cursor, keys)
    direction = decoded[1] if decoded else NEXT
    reverse = direction == PREVIOUS
    rows = queryset.order_by(*_order_by(keys, reverse=reverse))
    if decoded:
        rows = rows.filter(_after(keys, decoded[0], reverse=reverse))
    fetched = list(rows[: page_size + 1])
    more = len(fetched) > page_size
    fetched = fetched[:page_size]
    if reverse:
        fetched.reverse()
        has_previous, has_next = more, True
    else:
        has_previous, has_next = decoded is not None, more
    next_cursor = encode_cursor(_values_of(fetched[-1], keys), NEXT) if has_next and fetched else None
    previous_cursor = encode_cursor(_values_of(fetched[0], keys), PREVIOUS) if has_previous and fetched else None
    if has_next and not fetched:
        # Going back past rows deleted since: start again from the top.
        return paginate(queryset, ordering=ordering, page_size=page_size, cursor=None)
    return KeysetPage(
        object_list=fetched,
        has_next=has_next,
        has_previous=has_previous,
        next_cursor=next_cursor,
        previous_cursor=previous_cursor,
        page_size=page_size,
    )


def capped_count(queryset: models.QuerySet) -> int:
    """The number of rows, counting no further than TOTAL_CAP + 1 (a LIMIT inside the count)."""
    return queryset.order_by()[: TOTAL_CAP + 1].count()


def url_with(query_dict, **params: str | None) -> str:
    """`?` + the request's query string with `params` replaced (None removes one)."""
    query = query_dict.copy()
    for name, value in params.items():
        query.pop(name, None)
        if value is not None:
            query[name] = value
    return "?" + query.urlencode()


class KeysetPaginationMixin:
    """For a ListView/FilterView: replaces page-number pagination by keyset pages.

    Declare `keyset_ordering` (ending with the primary key; a matching btree index makes
    every page as cheap as the first) and `paginate_by`. The template gets `page_obj`
    with `next_url`/`previous_url` that keep the other query parameters (filters)."""

    keyset_ordering: tuple[str, ...] = ("-pk",)
    # Show "N rows" (capped at TOTAL_CAP) above the list: one extra, bounded query.
    keyset_total = False

    def get_keyset_ordering(self) -> tuple[str, ...]:
        """A sort the user chose in the filter form (an OrderingFilter), else the declared one;
        the primary key is appended either way."""
        filterset = getattr(self, "filterset", None)
        if filterset is not None and filterset.is_valid():
            for name, sort in filterset.filters.items():
                chosen = filterset.form.cleaned_data.get(name)
                if isinstance(sort, django_filters.OrderingFilter) and chosen:
                    return tuple(sort.get_ordering_value(param) for param in chosen)
        return tuple(self.keyset_ordering)

    def paginate_queryset(self, queryset, page_size):
        cursor = self.request.GET.get(CURSOR_PARAM)
        try:
            page = paginate(queryset, ordering=self.get_keyset_ordering(), page_size=page_size, cursor=cursor)
        except ValueError:
            # A chosen sort that cannot be a keyset: the declared order still pages correctly.
            page = paginate(queryset, ordering=self.keyset_ordering, page_size=page_size, cursor=cursor)
        if self.keyset_total:
            page.total = capped_count(queryset)
        params = self.request.GET.copy()
        params.pop("page", None)
        if page.next_cursor:
            page.next_url = url_with(params, **{CURSOR_PARAM: page.next_cursor})
        if page.previous_cursor:
            page.previous_url = url_with(params, **{CURSOR_PARAM: page.previous_cursor})
        return (None, page, page.object_list, page.has_other_pages())
