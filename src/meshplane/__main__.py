"""`python -m meshplane` runs the CLI."""

from meshplane.cli.launch import main

main()
