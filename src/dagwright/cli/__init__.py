"""The ``dagwright`` command line: click groups, one module per command group."""
