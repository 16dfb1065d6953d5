"""The one timeline mechanism: append-only entries with a gapless per-owner `seq`.

Incidents and maintenance windows both keep a log of what happened to them. Each owner row has a
`last_seq` counter; `next_seq` bumps it with UPDATE … RETURNING inside the appending transaction,
so concurrent appenders queue on the owner's row lock and a rollback gives the number back (a
PostgreSQL sequence would leave gaps). The entry model is abstract: each owner app adds the
foreign key, its kinds and the (owner, seq) unique constraint.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, models
from django.utils import timezone


class Visibility(models.TextChoices):
    INTERNAL = "internal", "Internal"
    PUBLIC = "public", "Public"


class TimelineEntryQuerySet(models.QuerySet):
    def public(self):
        return self.filter(visibility=Visibility.PUBLIC)


class TimelineEntry(models.Model):
    """One immutable entry; corrections are new entries, never edits."""

    seq = models.PositiveIntegerField()
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TimelineEntryQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("_allow_update", False):
            raise ValueError("timeline events are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("timeline events are immutable")


def next_seq(owner_model: type[models.Model], owner_id: int) -> int:
    """Allocate the owner's next `seq`; call inside the transaction that inserts the entry."""
    table = owner_model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq",  # noqa: S608 (table name from the model, not input)
            [owner_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise owner_model.DoesNotExist(f"{owner_model.__name__} {owner_id} does not exist")
    return row[0]
