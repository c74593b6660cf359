"""One module per `leadsync` subcommand, each with `register(subparsers)`."""
