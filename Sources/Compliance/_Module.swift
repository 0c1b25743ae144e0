// Module Compliance.
