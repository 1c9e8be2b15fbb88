"""Price Streaming: per-market and per-user stream events, and their fan-out to SSE clients.

Writers (called inside the trade engine's batch transaction) record events with a sequence
number and NOTIFY; every API process LISTENs once (`hub.StreamHub`) and fans out to its clients.
"""
