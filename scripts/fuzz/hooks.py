"""Schemathesis hooks for the Incident Log API (loaded through SCHEMATHESIS_HOOKS)."""
import schemathesis

# The batch import takes NDJSON: a text body, sent as generated.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")
