"""Sensors: the tenant registry -> dynamic partitions; later the dispatcher and the alerts."""
