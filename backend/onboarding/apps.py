from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "backend.onboarding"
    label = "onboarding"
    verbose_name = "Onboarding"

    def ready(self) -> None:
        # The engine asks, before a claim, which kinds this person may not take yet
        # (qualifications); it never imports this app.
        from backend.accounts.selfservice import personal_data_register
        from backend.assignments.gates import claim_gate_register, substitute_register
        from backend.onboarding.personal_data import onboarding_of_person
        from backend.onboarding.selectors import kinds_locked
        from backend.onboarding.stream import GoldStream

        claim_gate_register(kinds_locked)
        # Gold items in the stream, handed out in place of real work.
        substitute_register(GoldStream())
        personal_data_register("onboarding", onboarding_of_person)
