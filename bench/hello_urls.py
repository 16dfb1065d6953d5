"""The baseline's single JSON view."""

from django.http import JsonResponse
from django.urls import path


def hello(request):
    return JsonResponse({"message": "hello, world"})


urlpatterns = [path("hello", hello)]
