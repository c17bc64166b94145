"""Real log shippers (the OpenTelemetry SDK, syslog-ng) and a capture server to point them at."""
