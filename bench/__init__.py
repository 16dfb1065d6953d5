"""`make bench`: the portal under gunicorn, measured against a bare Django baseline.

See bench/README.md and ARCHITECTURE.md §7 for the rules these figures follow.
"""
