from django import template

register = template.Library()


@register.filter
def join_if_list(value):
    """Show list config values (topics, bootstrap servers) as a comma-separated line."""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "—"
    return value
