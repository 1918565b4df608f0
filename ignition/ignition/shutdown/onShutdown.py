def onShutdown():
	# Runs at gateway stop and around every project save: stores in-memory enqueues,
	# never stops running workflows.
	exchange.workflows.api.lifecycle.onShutdown()
