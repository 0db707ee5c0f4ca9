"""Status and kstatus-style conditions."""
