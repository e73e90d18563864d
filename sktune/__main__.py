"""``python -m sktune``: see :mod:`sktune._cli`."""

from sktune._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
