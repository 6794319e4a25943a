from django.urls import path

from tests.runtime_app import views

urlpatterns = [
    path("notes", views.notes),
    path("dashboard", views.dashboard),
]
