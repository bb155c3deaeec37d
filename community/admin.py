from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from grid.admin import ReadOnlyAdmin

from .models import (
    Application,
    ApplicationEvent,
    CareTag,
    Complaint,
    Delegation,
    DelegationEvent,
    Facility,
    FacilityCategory,
    FacilityStateChange,
    Household,
    MaterialType,
    Notice,
    PersonalDataAccess,
    Resident,
    ServiceItem,
    ServiceMaterial,
)


@admin.register(CareTag)
class CareTagAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "description"]


@admin.register(Household)
class HouseholdAdmin(LeafletGeoAdmin):
    list_display = ["number", "community", "grid_cell", "address"]
    search_fields = ["number", "address", "area_code"]
    raw_id_fields = ["community", "grid_cell"]
    list_select_related = ["community", "grid_cell"]


@admin.register(Resident)
class ResidentAdmin(LeafletGeoAdmin):
    """Only masked ID and phone numbers are shown; full values are read through the audited
    reveal action of the API and pages, never here."""

    list_display = ["name", "id_number_masked", "phone_masked", "sex", "birth_date", "community"]
    list_filter = ["sex", "care_tags"]
    search_fields = ["name", "area_code"]
    raw_id_fields = ["community", "grid_cell", "household"]
    readonly_fields = ["id_number_masked", "phone_masked", "birth_date", "sex", "area_code"]
    exclude = ["id_number_ciphertext", "id_number_digest", "phone_ciphertext", "phone_digest"]
    list_select_related = ["community"]

    def has_add_permission(self, request):
        # residents are registered through community.services (validation and encryption)
        return False


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdmin):
    list_display = ["accessed_at", "user", "resident", "field", "purpose", "ip_address"]
    list_filter = ["field"]
    search_fields = ["user__username", "purpose"]
    date_hierarchy = "accessed_at"


@admin.register(FacilityCategory)
class FacilityCategoryAdmin(admin.ModelAdmin):
    list_display = ["scheme", "code", "major_name", "name"]
    list_filter = ["scheme", "major_name"]
    search_fields = ["code", "name"]


@admin.register(Facility)
class FacilityAdmin(LeafletGeoAdmin):
    """Facilities are registered, moved and recoded through community.services.facilities,
    which locate them, check their codes and keep the area code that scopes them; state and
    inspections change through their own services with history. Here only the name is
    corrected."""

    list_display = [
        "code",
        "category",
        "state",
        "grid_cell",
        "owner_department",
        "last_inspected_on",
    ]
    list_filter = ["state", "category__major_name"]
    search_fields = ["code", "name", "area_code"]
    readonly_fields = [
        "code",
        "category",
        "location",
        "grid_cell",
        "area_code",
        "owner_department",
        "state",
        "last_inspected_on",
    ]
    list_select_related = ["category", "grid_cell", "owner_department"]

    def has_add_permission(self, request):
        return False


@admin.register(FacilityStateChange)
class FacilityStateChangeAdmin(ReadOnlyAdmin):
    list_display = ["facility", "from_state", "to_state", "changed_at", "changed_by", "reference"]
    search_fields = ["facility__code", "reference"]


class ServiceMaterialInline(admin.TabularInline):
    model = ServiceMaterial
    extra = 0


@admin.register(ServiceItem)
class ServiceItemAdmin(admin.ModelAdmin):
    list_display = [
        "implementation_code",
        "name",
        "item_type",
        "kind",
        "promised_limit_days",
        "legal_limit_days",
        "delegate_to_level",
        "active",
    ]
    list_filter = ["item_type", "kind", "delegate_to_level", "active", "department_kind"]
    search_fields = ["name", "implementation_code", "basic_code"]
    raw_id_fields = ["tongban_area"]
    inlines = [ServiceMaterialInline]


@admin.register(MaterialType)
class MaterialTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "valid_days"]
    search_fields = ["code", "name"]


class DelegationEventInline(admin.TabularInline):
    """Grants and withdrawals, append-only."""

    model = DelegationEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "action", "power", "actor", "note"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    inlines = [DelegationEventInline]
    list_display = ["item", "counter", "power", "since", "active"]
    list_filter = ["power", "active"]
    search_fields = ["item__name", "counter_code", "counter__name"]
    raw_id_fields = ["item", "counter"]
    readonly_fields = ["counter_code"]
    list_select_related = ["item", "counter"]


class ApplicationEventInline(admin.TabularInline):
    model = ApplicationEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "action", "from_status", "to_status", "actor", "role", "note"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    """Applications change only through their moves (community.services.applications)."""

    list_display = ["number", "item", "counter", "status", "received_at", "deadline"]
    list_filter = ["status", "channel"]
    search_fields = ["number", "counter_code"]
    date_hierarchy = "received_at"
    inlines = [ApplicationEventInline]
    list_select_related = ["item", "counter"]


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ["number", "kind", "application", "issued_at", "issued_by"]
    list_filter = ["kind"]
    search_fields = ["number", "application__number"]


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    list_display = ["application", "received_at", "substantiated", "resolved_at"]
    list_filter = ["substantiated"]
    raw_id_fields = ["application"]
