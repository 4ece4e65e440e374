"""Sensors: the tenant registry -> dynamic partitions (``tenants``), the per-tenant schedules (``dispatch``) and the
alerts (``alerts``)."""
