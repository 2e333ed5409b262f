"""Staff of the service and of organisations: accounts, roles and what each role may do."""
