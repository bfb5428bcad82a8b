"""Code every taskwave function shares: event schemas, the Dapr wrapper, settings, telemetry."""
