import django_filters
from django.db.models import Q

from accounts.models import Role, User


class UserFilterSet(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)
    is_active = django_filters.BooleanFilter()
    email = django_filters.CharFilter(lookup_expr="iexact", help_text="Exact email, any letter case.")
    search = django_filters.CharFilter(method="filter_search", help_text="Part of the email or name.")

    class Meta:
        model = User
        fields = ["role", "is_active", "email", "search"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(email__icontains=value) | Q(name__icontains=value))
