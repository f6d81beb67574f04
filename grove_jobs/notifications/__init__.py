"""The notification outbox and mail sending, shared by alerts and the digest job."""
