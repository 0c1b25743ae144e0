// Module Projections.
