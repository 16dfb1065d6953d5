from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.service_list, name="service-list"),
    path("<slug:slug>/", views.service_detail, name="service-detail"),
]
