"""The staff console: per-tenant logs, retry status, dead letters and replay, inside the admin.

It reads and writes log records only through ``tenants.stores.get_store()`` (never
the ORM), so it behaves the same on the database store and on Firestore, and puts
logs back on the queue only through ``processing.queues.get_queue()``.
"""
