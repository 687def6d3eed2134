"""The service layer: one place for the use cases the CLI and the API share."""
