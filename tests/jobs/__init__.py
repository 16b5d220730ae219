"""Importable job code for tests (``tests.jobs.<module>``), also loadable by other processes."""
