def onStartup():
	# exchange.workflows: install/upgrade the schema, create the worker pool once per JVM.
	# Projects that define workflows register their modules in their own startup script:
	#   exchange.workflows.api.lifecycle.onStartup(["plant.batch.workflows"])
	exchange.workflows.api.lifecycle.onStartup()
