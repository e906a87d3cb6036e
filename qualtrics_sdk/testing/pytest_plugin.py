"""Pytest plugin (``pytest11`` entry point ``qualtrics_sdk``) providing the ``fake_qualtrics`` fixture."""
