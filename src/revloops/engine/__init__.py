"""The workflow engine's wiring (DBOS Transact): start-up, queues, declared workflows, workers, status, retry.

Loops declare workflows and steps with :mod:`revloops.engine.registry`; :mod:`revloops.engine.setup`
starts the engine in a process; :mod:`revloops.engine.worker` runs a worker until told to stop.
"""
