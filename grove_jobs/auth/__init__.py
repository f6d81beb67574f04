"""Who may do what: API tokens with scopes, dashboard users with roles, and the audit trail.

Kept free of web frameworks: the HTTP API (``scheduler/api*.py``) and the dashboard
(``dashboard/identity.py``) are thin adapters over these modules.
"""
