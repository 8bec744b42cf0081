from django.apps import AppConfig


class ConsensusConfig(AppConfig):
    name = "backend.consensus"
    label = "consensus"

    def ready(self) -> None:
        from backend.assignments.growth import review_decider_register
        from backend.consensus.services.labels import message_labels_score

        # The engine asks this rule whether a fully reviewed message is accepted.
        review_decider_register(
            lambda message: bool(message_labels_score(message_id=message.pk).is_accepted)
        )
