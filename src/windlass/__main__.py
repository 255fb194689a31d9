"""``python -m windlass`` runs the CLI."""

from windlass.cli.main import main

main()
