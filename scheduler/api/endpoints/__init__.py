"""One module per API resource, each with its own route table."""
