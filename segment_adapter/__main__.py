"""``python -m segment_adapter``: the ``qualtrics-segment`` command line."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
