"""Migration versions, oldest first: ``0001_initial`` creates every table of spec §3."""
