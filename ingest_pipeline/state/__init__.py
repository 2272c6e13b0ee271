"""SQLite state shared by run steps and the sensor: the parse cache and the ingestion ledger."""
