"""The built-in detectors (phone, email, card, ssn, iban, ip) and the tenant's custom rules.

Each module reads one kind of value at a place the scanner found and appends ``Hit`` s;
none scans the whole text itself.
"""
