"""The deploy tool: pre-flight checks, helm upgrade, readiness of everything the chart
promises (rollouts, Dapr sidecars and resources, KEDA, Strimzi), then the smoke test.
`python -m deploy --help`; docs/deployment.md shows its output."""
