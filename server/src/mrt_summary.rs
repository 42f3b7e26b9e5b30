//! `rampartctl mrt summary`: a summary of an MRT file.
