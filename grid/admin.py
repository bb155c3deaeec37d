from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from .models import (
    Area,
    Assignment,
    CalendarDay,
    Department,
    DepartmentKind,
    WorkingPeriod,
)
from .services.areas import area_admin_save


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that change only through the services (cases, applications) or never
    (histories, audit rows): shown in the admin, not added, edited or deleted there."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CurrentFilter(admin.SimpleListFilter):
    title = _("validity")
    parameter_name = "current"

    def lookups(self, request, model_admin):
        return [("yes", _("current")), ("no", _("retired"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(valid_to__isnull=True)
        if self.value() == "no":
            return queryset.filter(valid_to__isnull=False)
        return queryset


@admin.register(Area)
class AreaAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "level", "parent", "valid_from", "valid_to"]
    list_filter = ["level", CurrentFilter]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]
    readonly_fields = ["created_at", "updated_at"]
    list_select_related = ["parent"]
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        area_admin_save(area=obj)


@admin.register(DepartmentKind)
class DepartmentKindAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "area", "active"]
    list_filter = ["kind", "active", "area__level"]
    search_fields = ["name", "area__code", "area__name"]
    raw_id_fields = ["area"]
    list_select_related = ["kind", "area"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "area", "department", "active"]
    list_filter = ["role", "active"]
    search_fields = ["user__username", "area__code", "area__name"]
    raw_id_fields = ["user", "area", "department"]
    list_select_related = ["user", "area", "department"]


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Administrators correct single days here (e.g. a local holiday, a late announcement)."""

    list_display = ["date", "is_workday", "name", "source"]
    list_filter = ["is_workday", "source"]
    list_editable = ["is_workday", "name"]
    date_hierarchy = "date"
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        from .models import CalendarSource

        obj.source = CalendarSource.ADMIN
        super().save_model(request, obj, form, change)


@admin.register(WorkingPeriod)
class WorkingPeriodAdmin(admin.ModelAdmin):
    list_display = ["start", "end"]
