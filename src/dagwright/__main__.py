"""``python -m dagwright`` runs the CLI."""

from dagwright.cli.main import main

if __name__ == "__main__":
    main()
