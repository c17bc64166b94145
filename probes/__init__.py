"""Health probes: ``/health`` (the process answers) and ``/ready`` (its queue and store answer)."""
