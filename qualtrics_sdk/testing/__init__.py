"""An in-memory fake Qualtrics server for tests (``FakeQualtrics``)."""
