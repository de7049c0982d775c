"""What every other room of services builds on: settings, the database, errors, counters and
query-parameter checking. Imports no other part of services."""
