"""Console views, one module per page; every view checks tenant access through ``ConsoleAccess``."""
