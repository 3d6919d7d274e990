from django.apps import AppConfig


class FsmAppConfig(AppConfig):
    name = "fsmapp"
    default_auto_field = "django.db.models.AutoField"
