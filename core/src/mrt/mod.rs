//! MRT routing information export format (RFC 6396, ADD-PATH RFC 8050).
