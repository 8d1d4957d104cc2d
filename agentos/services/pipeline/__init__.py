"""How a job runs: the stage functions, claims, handover, dispatch to runners, the embedded runner, the stall monitor and worker rows."""
