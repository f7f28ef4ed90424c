//! kb-http: the plumbing every API client of kbridge shares: a rate limiter per site (every
//! attempt pays, a 429 pauses the whole bucket), the retry policy, cursor and offset pagination
//! as streams, request timeouts, typed errors and typed events that log and count.
//!
//! It knows HTTP, not Confluence or Notion: it must never import a codec, a store or a model of
//! either service.
