"""Command-line interface: one small module per subcommand; the work is done below."""
