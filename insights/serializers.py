"""The JSON shape of /api/v1/insights/: the `Insights` dataclass, field for field.

Read-only serializers over the frozen dataclasses of insights/figures.py, so the schema in
/api/schema/ documents exactly what the page and the CSV show. Minutes are floats with one
decimal; null where there is nothing to measure.
"""

from __future__ import annotations

from rest_framework import serializers


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="Included.")
    days = serializers.IntegerField()
    preset = serializers.CharField(allow_null=True)


class FiltersSerializer(serializers.Serializer):
    severities = serializers.ListField(
        child=serializers.CharField(), source="shown_severities", help_text="Severities counted."
    )
    service = serializers.CharField(source="service_slug", allow_null=True)


class SpreadSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    median = serializers.FloatField(allow_null=True, help_text="Minutes, nearest-rank p50.")
    p90 = serializers.FloatField(allow_null=True, help_text="Minutes, nearest-rank p90.")


class WeekSerializer(serializers.Serializer):
    week_start = serializers.DateField(help_text="The Monday, in the business time zone.")
    by_severity = serializers.DictField(child=serializers.IntegerField())
    total = serializers.IntegerField()


class ResponseTimesSerializer(serializers.Serializer):
    severity = serializers.CharField(help_text="P0–P3, or `all` for every counted severity.")
    mtta = SpreadSerializer()
    mttr = SpreadSerializer()
    previous_mtta = SpreadSerializer()
    previous_mttr = SpreadSerializer()
    mtta_median_change = serializers.FloatField(allow_null=True)
    mttr_median_change = serializers.FloatField(allow_null=True)


class StepTimeSerializer(serializers.Serializer):
    step = serializers.CharField()
    label = serializers.CharField()
    minutes = SpreadSerializer()


class ServiceFigureSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    incidents = serializers.IntegerField()
    downtime_minutes = serializers.FloatField()


class PostmortemFiguresSerializer(serializers.Serializer):
    due = serializers.IntegerField()
    on_time = serializers.IntegerField()
    late = serializers.IntegerField()
    overdue = serializers.IntegerField()
    pending = serializers.IntegerField()
    on_time_percent = serializers.FloatField(allow_null=True)


class ActionItemCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()
    done = serializers.IntegerField()
    wont_do = serializers.IntegerField()


class InsightsSerializer(serializers.Serializer):
    period = PeriodSerializer()
    previous_period = PeriodSerializer()
    time_zone = serializers.CharField()
    filters = FiltersSerializer()
    generated_at = serializers.DateTimeField()
    incident_count = serializers.IntegerField()
    weeks = WeekSerializer(many=True)
    response_times = ResponseTimesSerializer(many=True)
    steps = StepTimeSerializer(many=True)
    top_by_incidents = ServiceFigureSerializer(many=True)
    top_by_downtime = ServiceFigureSerializer(many=True)
    postmortems = PostmortemFiguresSerializer()
    action_items = ActionItemCountsSerializer()
