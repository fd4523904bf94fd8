//! Settings (`upkeep.yml`).
