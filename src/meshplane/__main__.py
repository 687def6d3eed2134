"""`python -m meshplane` runs the CLI."""

from meshplane.cli.app import main

main()
