//! RIB building blocks: interned attribute sets, Adj-RIB-In, Loc-RIB,
//! Adj-RIB-Out and the decision process (RFC 4271 §9.1, RFC 4456 §9).
