from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class SurveysConfig(AppConfig):
    name = "surveys"

    def ready(self) -> None:
        from surveys.models import Question, Survey, SurveyVersion
        from surveys.served import survey_edited

        # Whatever edits them (the admin, a service, a shell), readers stop seeing the old copy.
        for model in (Survey, Question, SurveyVersion):
            post_save.connect(survey_edited, sender=model, dispatch_uid=f"served-{model.__name__}")
            post_delete.connect(
                survey_edited, sender=model, dispatch_uid=f"served-{model.__name__}-gone"
            )
