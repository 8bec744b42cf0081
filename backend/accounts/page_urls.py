"""The "My account" pages, mounted at ``/me/account/``."""

from django.urls import path

from backend.accounts import pages

app_name = "myaccount"

urlpatterns = [
    path("", pages.my_account, name="page"),
    path("data", pages.my_data, name="data"),
]
