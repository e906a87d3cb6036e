"""API resources (``client.contacts``, ``client.transactions``...), split by API area."""
