def handleTimerEvent():
	# Fixed delay 1000 ms, dedicated thread: land in-memory enqueues, claim and start work.
	exchange.workflows.api.service.dispatch()
