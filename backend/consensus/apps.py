from django.apps import AppConfig


class ConsensusConfig(AppConfig):
    name = "backend.consensus"
    label = "consensus"
