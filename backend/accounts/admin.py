from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from backend.accounts.models import User


@admin.register(User)
class ArborUserAdmin(UserAdmin):
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("Arbor", {"fields": ("display_name", "languages", "is_banned", "show_on_leaderboard")}),
    )
    list_display = ("username", "email", "display_name", "is_staff", "is_banned")
    list_filter = (*UserAdmin.list_filter, "is_banned")
    # Bans go through the moderation services (audited, with a reason, and they act
    # on the person's open work): the admin shows the flag but cannot change it.
    readonly_fields = ("is_banned",)
