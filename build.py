"""hyoka: build the evaluation-sheet site. Usage: python build.py [build|check|import|schema]."""

from hyoka.cli import exit_now, main

if __name__ == "__main__":
    exit_now(main())
