"""msgspec structs at the edge of the API: what requests may contain and what responses promise.

Request structs forbid unknown fields and bound every number, so malformed input fails before it
reaches the exchange; responses carry prices and money as decimal strings and quantities as integers.
"""
