from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from grid.admin import ReadOnlyAdmin

from .models import (
    Category,
    CategoryDeadline,
    CategoryGroup,
    Grade,
    Incident,
    IncidentEvent,
    IncidentPhoto,
    IndicatorDefinition,
    RoutingRule,
    SupervisionRecord,
)


class CategoryDeadlineInline(admin.TabularInline):
    model = CategoryDeadline
    extra = 0


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    """Categories, their default tier and department kind, step deadlines and duplicate
    window are data: administrators adjust them here."""

    list_display = [
        "code",
        "name",
        "kind",
        "scheme",
        "major_name",
        "default_tier",
        "department_kind",
        "active",
    ]
    list_filter = ["kind", "scheme", "major_name", "default_tier", "active"]
    search_fields = ["code", "name"]
    inlines = [CategoryDeadlineInline]


@admin.register(CategoryGroup)
class CategoryGroupAdmin(admin.ModelAdmin):
    list_display = ["name"]
    filter_horizontal = ["categories"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = [
        "position",
        "category",
        "group",
        "area",
        "source",
        "keywords",
        "handling_tier",
        "department",
        "department_kind",
        "active",
    ]
    list_filter = ["handling_tier", "active", "source"]
    list_display_links = ["category", "group"]
    list_editable = ["position", "active"]
    raw_id_fields = ["area", "department", "category"]
    readonly_fields = ["area_code"]

    def save_model(self, request, obj, form, change):
        # the denormalised subtree key follows the chosen area
        obj.area_code = obj.area.code if obj.area_id else ""
        super().save_model(request, obj, form, change)


class IncidentEventInline(admin.TabularInline):
    model = IncidentEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "action", "from_status", "to_status", "actor", "role", "note"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin, LeafletGeoAdmin):
    list_display = [
        "number",
        "category",
        "status",
        "light",
        "tier",
        "department",
        "reported_at",
        "step_deadline",
    ]
    list_filter = ["status", "light", "source", "tier"]
    search_fields = ["number", "area_code", "description"]
    date_hierarchy = "reported_at"
    inlines = [IncidentEventInline]
    list_select_related = ["category", "department"]
    exclude = ["reporter_phone_ciphertext"]


@admin.register(IncidentPhoto)
class IncidentPhotoAdmin(ReadOnlyAdmin):
    list_display = ["incident", "stage", "content_type", "width", "height", "size", "uploaded_at"]


@admin.register(SupervisionRecord)
class SupervisionRecordAdmin(ReadOnlyAdmin):
    list_display = ["incident", "step", "step_round", "level", "recorded_at", "deadline"]
    list_filter = ["level", "step"]


@admin.register(IndicatorDefinition)
class IndicatorDefinitionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "subject", "numerator", "denominator", "complement", "active"]
    list_filter = ["subject", "active"]
    list_editable = ["active"]


@admin.register(Grade)
class GradeAdmin(admin.ModelAdmin):
    list_display = ["letter", "minimum"]
