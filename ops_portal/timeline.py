"""The one timeline mechanism: append-only entries with a gapless per-owner `seq`.

Incidents and maintenance windows both keep a log of what happened to them. Each owner row has a
`last_seq` counter; `next_seq` bumps it with UPDATE … RETURNING inside the appending transaction,
so concurrent appenders queue on the owner's row lock and a rollback gives the number back (a
PostgreSQL sequence would leave gaps). The entry model is abstract: each owner app adds the
foreign key, its kinds and the (owner, seq) unique constraint.
"""

from __future__ import annotations

from dataclasses import dataclass

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


# --- Consistency check (`manage.py check_timeline`) -------------------------------------------


@dataclass(frozen=True)
class RegisteredTimeline:
    """A kind of timeline the checker verifies: its owner, its entries and how to name it."""

    label: str
    owner_model: type[models.Model]
    entry_model: type[models.Model]
    owner_fk: str  # the entry's foreign key to its owner, e.g. "incident"
    ref_column: str  # the owner column people know it by (an incident's number)
    ref_prefix: str


@dataclass(frozen=True)
class TimelineProblem:
    timeline: str
    owner_id: int
    ref: str
    missing: list[int]
    duplicates: list[int]
    counter: int
    highest: int


_timelines: dict[str, RegisteredTimeline] = {}


def register_timeline(timeline: RegisteredTimeline) -> None:
    """Called from an owner app's AppConfig.ready() so the checker covers its timelines."""
    _timelines[timeline.label] = timeline


def registered_timelines() -> list[RegisteredTimeline]:
    return list(_timelines.values())


def timeline_problems(timeline: RegisteredTimeline) -> list[TimelineProblem]:
    """Gaps, duplicates and counter mismatches, in one aggregate query over all owners."""
    owners = timeline.owner_model._meta.db_table
    entries = timeline.entry_model._meta.db_table
    fk = f"{timeline.owner_fk}_id"
    sql = (
        f"SELECT o.id, o.{timeline.ref_column}, o.last_seq, COUNT(e.id), "  # noqa: S608 (model metadata, not input)
        f"COUNT(DISTINCT e.seq), COALESCE(MAX(e.seq), 0), COALESCE(MIN(e.seq), 1) "
        f"FROM {owners} o LEFT JOIN {entries} e ON e.{fk} = o.id "
        f"GROUP BY o.id, o.{timeline.ref_column}, o.last_seq"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    problems = []
    for owner_id, ref, counter, total, distinct, highest, lowest in rows:
        contiguous = total == distinct == highest == counter and lowest == 1
        if contiguous or (total == 0 and counter == 0):
            continue
        seqs = list(
            timeline.entry_model.objects.filter(**{fk: owner_id})
            .order_by("seq")
            .values_list("seq", flat=True)
        )
        present = set(seqs)
        missing = [n for n in range(1, max(highest, counter) + 1) if n not in present]
        duplicates = sorted({n for n in seqs if seqs.count(n) > 1})
        problems.append(
            TimelineProblem(
                timeline.label,
                owner_id,
                f"{timeline.ref_prefix}{ref}",
                missing,
                duplicates,
                counter,
                highest,
            )
        )
    return problems
