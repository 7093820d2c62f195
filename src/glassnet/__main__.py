"""``python -m glassnet`` runs the ``glassnet`` command."""

import sys

from glassnet.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
