from django.apps import AppConfig


class LogsApiConfig(AppConfig):
    name = "logs_api"
    verbose_name = "Log read API"
