"""hyoka: build the evaluation-sheet site. Usage: python build.py [build|check|import|schema]."""

import sys

from hyoka.cli import main

if __name__ == "__main__":
    sys.exit(main())
