"""The HTTP routes of procserv, one module per resource."""
