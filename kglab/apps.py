from django.apps import AppConfig


class KGLabConfig(AppConfig):
    name = "kglab"
    verbose_name = "Knowledge Graph Lab"
