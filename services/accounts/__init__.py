"""User Management: users, roles, auth, wallets and the ledger."""
