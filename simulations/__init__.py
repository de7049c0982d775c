"""Market generator, discrete-event simulation, policy comparison, sweeps, reports."""
