"""One module per group of CLI commands; each exposes `add_parsers(subparsers)`."""
