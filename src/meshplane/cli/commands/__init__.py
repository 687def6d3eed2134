"""One module per command group. Each module defines `register(app)`; `cli.app` discovers them."""
