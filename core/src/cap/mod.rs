//! Capabilities advertised in OPEN (RFC 5492) and their negotiation.
