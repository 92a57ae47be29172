"""``python -m virtcore``: the command line (see :mod:`virtcore.cli`)."""

import sys

from virtcore.cli import main

if __name__ == "__main__":
    sys.exit(main())
