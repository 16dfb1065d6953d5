"""Project-level pages."""

from django.shortcuts import redirect


def home(request):
    """Send people to the service overview once signed in, to the login page otherwise."""
    if request.user.is_authenticated:
        return redirect("catalog:service-list")
    return redirect("login")
