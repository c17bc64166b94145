"""Security tests: tenant isolation, secrets kept out of the database and the logs, production settings, CSRF, rate limits."""
