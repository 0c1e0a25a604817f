"""The payment provider: the port Rampart calls, its HTTP adapter, the sandbox, the breaker."""
