"""`python -m shared` is the `rampart` command."""

from shared.cli import main

main()
