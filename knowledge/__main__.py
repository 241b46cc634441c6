"""``python -m knowledge``: see knowledge.cli."""

import sys

from knowledge.cli import main

if __name__ == "__main__":  # not when a build step's child process (spawn) imports this module
    sys.exit(main())
