"""The advisors' service: booth registry, waiting room, advisor console, signalling relay."""
