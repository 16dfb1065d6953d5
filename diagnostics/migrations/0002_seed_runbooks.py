"""Seed one runbook per symptom of the operations guide (editable afterwards; never re-seeded).

Each step names a probe; it runs on every enabled target of the probe's kind of the incident's
services. Remediations are text for now: the remediation issue makes them executable.
"""

from django.db import migrations

RUNBOOKS = [
    (
        "Service unavailable (503)",
        "service_unavailable",
        "The service answers 503 or not at all: is it running, ready and reachable, and are its "
        "dependencies up?",
        [
            ("Health endpoint", "http.health", {}),
            ("Pods: phase, readiness, restarts", "kubernetes.pods", {}),
            ("Rollout status", "kubernetes.rollout", {}),
            ("Service endpoints ready", "kubernetes.endpoints", {}),
            ("Recent warning events", "kubernetes.events", {}),
            ("Database connections", "postgres.connections", {}),
            ("Redis memory", "redis.memory", {}),
        ],
        "- Roll back the last deployment if the rollout is new or stalled.\n"
        "- Restart crash-looping pods (rollout restart) once the cause is understood.\n"
        "- Scale out if ready pods cannot take the load.",
    ),
    (
        "High error rate",
        "error_rate",
        "More requests fail than usual: find the failing component and what changed.",
        [
            ("Health endpoint", "http.health", {}),
            ("Pods: phase, readiness, restarts", "kubernetes.pods", {}),
            ("Errors in pod logs", "kubernetes.logs", {"pattern": "(?i)error|exception|5\\d\\d"}),
            ("Rollout status", "kubernetes.rollout", {}),
            ("Recent warning events", "kubernetes.events", {}),
        ],
        "- Roll back the deployment that introduced the errors.\n"
        "- Disable the failing feature flag or dependency call.",
    ),
    (
        "High response times",
        "high_latency",
        "Requests are slow: CPU throttling, slow queries, cache misses or a slow dependency.",
        [
            ("Health endpoint latency", "http.health", {}),
            ("CPU and memory vs limits", "kubernetes.resources", {"sort_by": "cpu"}),
            ("Slow lines in pod logs", "kubernetes.logs", {"pattern": "(?i)slow|timeout"}),
            ("Long-running queries", "postgres.long_queries", {}),
            ("Top statements by mean time", "postgres.top_statements", {}),
            ("Cache hit rate", "redis.hit_rate", {}),
        ],
        "- Scale out or raise CPU limits where containers are throttled.\n"
        "- Terminate runaway queries; add the missing index.\n"
        "- Warm the cache or fix keys without TTL.",
    ),
    (
        "Connection-pool exhaustion",
        "connection_pool_exhaustion",
        "The application cannot get database connections: too many, or held too long.",
        [
            ("Connections by state", "postgres.connections", {}),
            ("Long-running queries and blockers", "postgres.long_queries", {}),
            ("Pods: restarts", "kubernetes.pods", {}),
            ("Timeouts in pod logs", "kubernetes.logs", {"pattern": "(?i)pool|timeout|too many"}),
        ],
        "- Terminate idle-in-transaction backends holding connections.\n"
        "- Lower the pool size per pod or add PgBouncer; scale in if replicas × pool > max.",
    ),
    (
        "Slow database queries",
        "slow_queries",
        "Queries take longer than they should: find them and the tables that need an index.",
        [
            ("Long-running queries", "postgres.long_queries", {}),
            ("Top statements by mean time", "postgres.top_statements", {}),
            ("Sequential scans and missing indexes", "postgres.table_activity", {}),
            ("Connections by state", "postgres.connections", {}),
        ],
        "- Terminate the runaway query (with its owner's agreement).\n"
        "- Add the missing index (CREATE INDEX CONCURRENTLY) and ANALYZE.",
    ),
    (
        "Redis memory pressure",
        "redis_memory",
        "Redis is near maxmemory, fragmenting or evicting: find what uses the memory.",
        [
            ("Memory, fragmentation, evictions", "redis.memory", {}),
            ("Biggest keys", "redis.big_keys", {}),
            ("Keys without TTL", "redis.ttl_distribution", {"pattern": "*"}),
        ],
        "- Delete or expire the big or TTL-less keys (by pattern, previewed).\n"
        "- Raise maxmemory or pick an eviction policy that fits a cache (allkeys-lru).",
    ),
    (
        "Cache misses",
        "cache_misses",
        "The cache hit rate dropped: keys expire too early, are evicted, or are never written.",
        [
            ("Cache hit rate", "redis.hit_rate", {}),
            ("Memory and evictions", "redis.memory", {}),
            ("TTL distribution", "redis.ttl_distribution", {"pattern": "*"}),
        ],
        "- Fix TTLs that are too short; pre-warm hot keys.\n"
        "- Stop evictions (memory) before tuning anything else.",
    ),
    (
        "Kafka message processing delays",
        "consumer_lag",
        "Consumers fall behind: is the lag growing, on which partitions, and are consumers up?",
        [
            ("Consumer-group lag", "kafka.consumer_lag", {}),
            ("Partitions and leaders", "kafka.topics", {}),
            ("Consumer pods", "kubernetes.pods", {}),
            ("Consumer CPU and memory", "kubernetes.resources", {"sort_by": "cpu"}),
        ],
        "- Scale the consumer deployment (up to the partition count).\n"
        "- Restart stuck consumers; reset offsets only with the owner's agreement.",
    ),
    (
        "Dead-letter backlog",
        "dead_letters",
        "Messages pile up in a dead-letter topic: what fails, and is it still failing?",
        [
            ("Consumer-group lag (incl. DLQ consumers)", "kafka.consumer_lag", {}),
            ("Topics and partitions", "kafka.topics", {}),
            ("Errors in consumer logs", "kubernetes.logs", {"pattern": "(?i)dead.?letter|dlq|error"}),
        ],
        "- Fix the poison message cause, then replay the dead-letter topic.\n"
        "- Reset the DLQ consumer's offsets after a replay, previewed.",
    ),
    (
        "High CPU",
        "cpu",
        "CPU is saturated or throttled.",
        [
            ("Top pods by CPU vs limits", "kubernetes.resources", {"sort_by": "cpu"}),
            ("Pods", "kubernetes.pods", {}),
            ("Top statements", "postgres.top_statements", {}),
        ],
        "- Scale out; raise CPU limits of throttled containers.\n"
        "- Roll back a release that made a hot path expensive.",
    ),
    (
        "Memory pressure / OOM",
        "memory",
        "Containers are killed for memory (OOMKilled) or close to their limits.",
        [
            ("Top pods by memory vs limits", "kubernetes.resources", {"sort_by": "memory"}),
            ("Pods: OOMKilled restarts", "kubernetes.pods", {}),
            ("Warning events", "kubernetes.events", {}),
            ("Redis memory", "redis.memory", {}),
        ],
        "- Raise memory limits of OOMKilled containers; look for a leak in the release.\n"
        "- Restart the leaking deployment to buy time.",
    ),
    (
        "Network problems",
        "network",
        "Timeouts or refused connections between services.",
        [
            ("Health endpoint", "http.health", {}),
            ("Service endpoints ready", "kubernetes.endpoints", {}),
            ("Network policies selecting the pods", "kubernetes.network_policies", {}),
            ("Warning events", "kubernetes.events", {}),
            ("Kafka brokers and partitions", "kafka.topics", {}),
        ],
        "- Revert a recent NetworkPolicy change that denies the traffic.\n"
        "- Restart pods stuck with stale DNS or connections.",
    ),
    (
        "Replication lag",
        "replication_lag",
        "Replicas fall behind the primary: reads are stale and failover is at risk.",
        [
            ("Replication lag", "postgres.replication", {}),
            ("Long-running queries on the replica", "postgres.long_queries", {}),
            ("Write activity", "postgres.table_activity", {}),
        ],
        "- Cancel long queries that conflict with replay on the replica.\n"
        "- Throttle the bulk write causing the WAL spike.",
    ),
]


def seed(apps, schema_editor):
    Runbook = apps.get_model("diagnostics", "Runbook")
    RunbookStep = apps.get_model("diagnostics", "RunbookStep")
    for name, symptom, description, steps, remediations in RUNBOOKS:
        slug = symptom.replace("_", "-")
        runbook, created = Runbook.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "symptom": symptom,
                "description": description,
                "suggested_remediations": remediations,
            },
        )
        if created:
            RunbookStep.objects.bulk_create(
                RunbookStep(runbook=runbook, position=i, title=title, probe=probe, params=params)
                for i, (title, probe, params) in enumerate(steps)
            )


class Migration(migrations.Migration):
    dependencies = [("diagnostics", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
